"""The built wheel, not the checkout: an operator's `pip install` gets the
plugin, the schemas at the top of the repository, the templates, the German
catalogue and the `pgsolr` console script.

The fresh virtualenv borrows the dependencies from the test virtualenv (a
.pth line to its site-packages, whose own .pth files, among them the
editable install of this checkout, are not processed), so that only this
package comes from the wheel. Installing the whole CKAN stack anew would
prove nothing more about this package and cost a minute.
"""
from __future__ import annotations

import importlib.util
import pathlib
import shutil
import subprocess
import sys
import sysconfig
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

CHECK = textwrap.dedent("""
    import pathlib, pkgutil, sys
    # The borrowed site-packages declare the ckanext namespace in .pth files
    # that a plain path line does not run: extend it as they would.
    import ckanext
    ckanext.__path__ = pkgutil.extend_path(ckanext.__path__, "ckanext")
    import ckanext.gelsenkirchen as pkg, pgsolr
    from ckanext.scheming.plugins import _load_schema
    site = pathlib.Path(sys.argv[1])
    for module in (pkg, pgsolr):
        assert pathlib.Path(module.__file__).is_relative_to(site), module.__file__
    for ref in ("ckanext.gelsenkirchen.schemas:dataset.yaml",
                "ckanext.gelsenkirchen.schemas:wifi_hotspots.yaml",
                "ckanext.gelsenkirchen.schemas:broadband_coverage.yaml",
                # the reference of earlier releases keeps working
                "ckanext.gelsenkirchen:schemas/broadband_coverage.yaml"):
        print("schema", ref, _load_schema(ref)["dataset_type"])
    print("presets", len(_load_schema("ckanext.gelsenkirchen.schemas:presets.yaml")["presets"]))

    from ckan.cli import load_config
    from ckan.config.middleware import make_app
    from werkzeug.test import Client
    app = make_app(load_config(sys.argv[2]))
    page = Client(app).get("/impressum", headers={"Accept-Language": "de"})
    print("impressum", page.status_code, "gk-placeholder" in page.get_data(as_text=True))
    import ckan.plugins as plugins
    plugin = plugins.get_plugin("gelsenkirchen")
    print("plugin", pathlib.Path(sys.modules[type(plugin).__module__].__file__).is_relative_to(site))
    for name in ("gelsenkirchen_wifi_harvester", "gelsenkirchen_broadband_harvester"):
        module = sys.modules[type(plugins.get_plugin(name)).__module__]
        print("harvester", name, pathlib.Path(module.__file__).is_relative_to(site))
""")


@pytest.fixture(scope="module")
def wheel_venv(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    tmp = tmp_path_factory.mktemp("wheel")
    # Built from a copy of the tracked files: setuptools' build/ directory in
    # a checkout keeps modules that were since deleted, and they would ship.
    source = tmp / "source"
    tracked = subprocess.run(["git", "ls-files", "-z"], cwd=ROOT, check=True,
                             capture_output=True).stdout.decode().split("\0")
    for name in filter(None, tracked):
        if (ROOT / name).is_file():
            (source / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(ROOT / name, source / name)
    # setuptools >= 77 reads pyproject.toml's licence expression with
    # packaging >= 24.2 (packaging.licenses); CKAN 2.10 and 2.11 pin packaging
    # 24.1, so there pip builds in an isolated environment of its own.
    isolation = ["--no-build-isolation"] if importlib.util.find_spec("packaging.licenses") else []
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", *isolation,
                    "--disable-pip-version-check", "-q", "-w", str(tmp), str(source)],
                   check=True, capture_output=True, cwd=tmp)
    wheel = next(tmp.glob("ckanext_gelsenkirchen-*.whl"))
    venv = tmp / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site = venv / "lib/python3.11/site-packages"
    (site / "borrowed-dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin/python"), "install",
                    "--no-deps", "--disable-pip-version-check", "-q", str(wheel)],
                   check=True, capture_output=True)
    return venv


def test_the_wheel_ships_every_package(wheel_venv: pathlib.Path) -> None:
    """A package missing from pyproject.toml's explicit list would be missing
    from the wheel only, not from the checkout the other tests use."""
    site = wheel_venv / "lib/python3.11/site-packages"
    for top in ("ckanext/gelsenkirchen", "pgsolr"):
        for init in (ROOT / top).rglob("__init__.py"):
            package = init.parent.relative_to(ROOT)
            assert (site / package / "__init__.py").is_file(), f"{package} is not in the wheel"
    assert (site / "ckanext/gelsenkirchen/schemas/__init__.py").is_file()


def test_the_wheel_ships_plugin_schemas_templates_and_pgsolr(wheel_venv: pathlib.Path) -> None:
    site = wheel_venv / "lib/python3.11/site-packages"
    shipped = site / "ckanext/gelsenkirchen"
    assert (shipped / "schemas/dataset.yaml").is_file()
    assert (shipped / "templates/gelsenkirchen/legal.html").is_file()
    assert (shipped / "i18n/de/LC_MESSAGES/ckanext-gelsenkirchen.mo").is_file()
    migrations = shipped / "migration/gelsenkirchen"  # ckan db upgrade -p gelsenkirchen
    assert (migrations / "env.py").is_file() and (migrations / "alembic.ini").is_file()
    assert list((migrations / "versions").glob("*_harvest_alert_state.py"))
    assert (site / "pgsolr/schema-addition.xml").is_file()
    assert not (site / "tests").exists() and not (site / "bench").exists()

    run = subprocess.run([str(wheel_venv / "bin/python"), "-c", CHECK, str(site),
                          str(ROOT / "test.ini")],
                         capture_output=True, text=True, cwd=wheel_venv)
    assert run.returncode == 0, run.stderr[-3000:]
    lines = run.stdout.splitlines()
    assert "schema ckanext.gelsenkirchen.schemas:dataset.yaml dataset" in lines
    assert "schema ckanext.gelsenkirchen.schemas:wifi_hotspots.yaml wifi-hotspots" in lines
    assert "schema ckanext.gelsenkirchen:schemas/broadband_coverage.yaml broadband-coverage" in lines
    assert "impressum 200 True" in lines
    assert "plugin True" in lines
    assert "harvester gelsenkirchen_wifi_harvester True" in lines
    assert "harvester gelsenkirchen_broadband_harvester True" in lines

    schema = subprocess.run([str(wheel_venv / "bin/pgsolr"), "print-schema"],
                            capture_output=True, text=True, check=True).stdout
    assert '<field name="maxx" type="float"' in schema and "<schema" in schema
    conf = wheel_venv / "configset"
    subprocess.run([str(wheel_venv / "bin/pgsolr"), "configset", str(conf)],
                   capture_output=True, text=True, check=True)
    assert "GermanLightStemFilterFactory" in (conf / "schema.xml").read_text()
    assert "glasfaser" in (conf / "lang/compounds_de.txt").read_text().split()
    assert (conf / "solrconfig.xml").is_file()
