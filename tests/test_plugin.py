"""The plugin loads beside the plugins it is made for and declares its options."""
from __future__ import annotations

import pathlib
import subprocess
import sys

import ckan.plugins as p
import ckan.plugins.toolkit as tk
import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]


@pytest.mark.usefixtures("with_plugins")
def test_plugin_loads_with_the_recommended_plugins():
    for name in ("gelsenkirchen", "scheming_datasets", "spatial_metadata", "spatial_query",
                 "harvest", "dcat", "datastore", "datatables_view", "activity"):
        assert p.plugin_loaded(name), name


@pytest.mark.usefixtures("with_plugins")
def test_declared_options_have_their_defaults():
    assert tk.config.get("ckanext.gelsenkirchen.doctor.stuck_job_minutes") == 120


@pytest.mark.usefixtures("with_plugins", "non_clean_db")
def test_portal_answers_status_show(app):
    body = app.get("/api/3/action/status_show").json
    assert body["success"]
    assert "gelsenkirchen" in body["result"]["extensions"]


def test_configuration_reference_is_current():
    generated = subprocess.run([sys.executable, str(ROOT / "scripts/config_reference.py")],
                               check=True, capture_output=True, text=True).stdout
    committed = (ROOT / "docs/configuration.md").read_text(encoding="utf-8")
    assert committed == generated, "docs/configuration.md is stale: run `make config-reference`"
