"""Supported CKAN versions: what an operator sees on a CKAN the extension
does not support, and what the doctor says about the installed one."""
from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from ckanext.gelsenkirchen import compat
from ckanext.gelsenkirchen.doctor import services

SUPPORTED = "supports CKAN 2.10, 2.11 and 2.12 (tested with 2.10.11, 2.11.6, 2.12.0)"

# What CKAN does first to load a plugin named in ckan.plugins (its entry
# point), in a fresh interpreter whose ckan package claims to be VERSION
LOAD_PLUGIN = textwrap.dedent("""
    import importlib.metadata, sys
    import ckan
    ckan.__version__ = sys.argv[1]
    plugin = importlib.metadata.entry_points(group="ckan.plugins")[sys.argv[2]].load()
    print("loaded", plugin.__name__)
""")


@pytest.mark.parametrize("version", ["2.9.11", "2.13.0"])
@pytest.mark.parametrize("plugin", ["gelsenkirchen", "gelsenkirchen_wifi_harvester"])
def test_unsupported_ckan_stops_plugin_loading_with_one_clear_message(version, plugin):
    done = subprocess.run([sys.executable, "-c", LOAD_PLUGIN, version, plugin],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode != 0
    last_line = done.stderr.strip().splitlines()[-1]
    assert last_line == (f"ckanext.gelsenkirchen.compat.UnsupportedCkanVersion: CKAN {version} "
                         f"is not supported by ckanext-gelsenkirchen: it {SUPPORTED}. Install "
                         "one of those CKAN releases, or a release of ckanext-gelsenkirchen "
                         "made for your CKAN."), done.stderr


def test_the_installed_ckan_loads_the_plugins():
    done = subprocess.run([sys.executable, "-c", LOAD_PLUGIN, compat.installed_ckan_version(),
                           "gelsenkirchen"], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "loaded GelsenkirchenPlugin\n"), done.stderr


@pytest.mark.parametrize(("version", "ok", "detail"), [
    ("2.10.11", True, "CKAN 2.10.11: supported and tested"),
    ("2.11.6", True, "CKAN 2.11.6: supported and tested"),
    ("2.12.0", True, "CKAN 2.12.0: supported and tested"),
    ("2.10.5", True, "CKAN 2.10.5: supported (CKAN 2.10; tested with 2.10.11)"),
    ("2.12.1b1", True, "CKAN 2.12.1b1: supported (CKAN 2.12; tested with 2.12.0)"),
    ("2.9.11", False, f"CKAN 2.9.11 is not supported by ckanext-gelsenkirchen: it {SUPPORTED}"),
    ("2.13.0", False, f"CKAN 2.13.0 is not supported by ckanext-gelsenkirchen: it {SUPPORTED}"),
])
def test_doctor_names_the_ckan_version_and_whether_it_is_supported_and_tested(
        version, ok, detail):
    result = services.check_ckan_version(version)
    assert (result.ok, result.detail) == (ok, detail)
    if not ok:
        assert result.line().endswith("install CKAN 2.10.11, 2.11.6, 2.12.0")
