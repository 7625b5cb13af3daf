"""``ckan gelsenkirchen doctor``: what the operator sees when things work and when they don't.

The healthy-path test needs the real search service at ``solr_url`` (pgsolr,
started by ``make test``). The failure tests point one setting at a closed
port, at a throwaway database or create the broken state for real; nothing
inside the project is mocked.
"""
from __future__ import annotations

import datetime
import importlib.util
import json
import pathlib
import re

import ckan.plugins.toolkit as tk
import psycopg2
import pytest
from alembic.command import stamp
from ckan import model
from ckan.cli import db as ckan_db
from ckan.cli.cli import ckan
from ckan.tests import factories
from ckanext.harvest import queue as harvest_queue
from ckanext.harvest.tests import factories as harvest_factories
from sqlalchemy.engine import make_url

from ckanext.gelsenkirchen import compat, harvest_consumers
from ckanext.gelsenkirchen.cli import gelsenkirchen
from ckanext.gelsenkirchen.doctor import plugins, search, services

CLOSED_PORT = 1  # nothing listens on tcp/1 on a test host
# one per CKAN version: CI runs the suites of 2.10/2.11 beside 2.12's
THROWAWAY_DB = "gelsenkirchen_doctor_pending_ckan" + compat.minor_version(
    compat.installed_ckan_version()).replace(".", "_")
THROWAWAY_URL = f"postgresql://ckan_default:pass@127.0.0.1/{THROWAWAY_DB}"


def _lines(output: str) -> dict[str, str]:
    """Doctor output keyed by check name: {"redis": "[FAIL] redis: ...", ...}."""
    lines = {}
    for line in output.splitlines():
        if line[:1] == "[" and "] " in line and ": " in line:
            lines[line.split("] ", 1)[1].split(": ", 1)[0]] = line
    return lines


def _run_doctor(cli, *args: str):
    """``ckan gelsenkirchen doctor`` on the current (per-test) configuration."""
    result = cli.invoke(gelsenkirchen, ["doctor", *args])
    assert result.exception is None or isinstance(result.exception, SystemExit), result.output
    return result


def _purge_queues() -> None:
    harvest_queue.purge_queues()
    # and the "in hand" keys a consumer stopped mid-message left behind
    conn = harvest_queue.get_connection()
    for key in (harvest_queue.get_gather_routing_key(), harvest_queue.get_fetch_routing_key()):
        for stale in conn.scan_iter(match=key + ":*"):
            conn.delete(stale)


@pytest.fixture
def empty_harvest_queues():
    _purge_queues()
    yield
    _purge_queues()


@pytest.fixture
def queued_object():
    """A harvest object waiting in the fetch queue for 40 minutes."""
    minutes = 40
    obj = harvest_factories.HarvestObjectObj(
        guid="hotspot-1",
        job=harvest_factories.HarvestJobObj(
            source=harvest_factories.HarvestSourceObj(url="http://wifi.example.org/q.json",
                                                      owner_org=factories.Organization()["id"])))
    long_ago = datetime.datetime.utcnow() - datetime.timedelta(minutes=minutes)
    obj.gathered = long_ago
    obj.job.gather_finished = long_ago
    model.Session.commit()
    harvest_queue.get_fetch_publisher().send({"harvest_object_id": obj.id})
    yield obj
    # A WAITING object would be re-queued by any later `harvester run`
    # (ckanext-harvest's resubmit_objects) in this shared test database.
    obj.state = "ERROR"
    model.Session.commit()


@pytest.fixture
def live_consumers():
    """A heartbeat for each queue, as running consumers keep them."""
    beats = [harvest_consumers.Heartbeat(stage, 10) for stage in harvest_consumers.STAGES]
    for beat in beats:
        beat.set("waiting")
        beat.beat()
    yield beats
    for beat in beats:
        beat.stop()


def _admin(sql: str, database: str = "postgres") -> None:
    url = make_url(tk.config["sqlalchemy.url"])
    conn = psycopg2.connect(host=url.host, port=url.port or 5432, user="postgres",
                            dbname=database)
    conn.autocommit = True
    try:
        with conn.cursor() as cur:
            cur.execute(sql)
    finally:
        conn.close()


@pytest.fixture
def throwaway_db():
    """An empty database owned by the CKAN role, dropped after the test."""
    _admin(f"DROP DATABASE IF EXISTS {THROWAWAY_DB} WITH (FORCE)")
    _admin(f"CREATE DATABASE {THROWAWAY_DB} OWNER ckan_default")
    yield THROWAWAY_URL
    _admin(f"DROP DATABASE IF EXISTS {THROWAWAY_DB} WITH (FORCE)")


# --------------------------------------------------------------------------- healthy


@pytest.mark.usefixtures("with_plugins", "with_extended_cli", "plugin_db",
                         "empty_harvest_queues", "live_consumers")
def test_all_checks_pass_on_a_healthy_installation(cli):
    result = cli.invoke(ckan, ["gelsenkirchen", "doctor"])

    lines = _lines(result.output)
    assert set(lines) == {"ckan", "database", "datastore", "redis", "search", "search schema",
                          "plugin order", "harvest consumers", "harvest jobs",
                          "harvest runs"}, result.output
    for name, line in lines.items():
        assert line.startswith("[ OK ]"), f"{name} failed:\n{result.output}"
    # make test installs exactly the release CI tests, on each CKAN version
    assert f"CKAN {compat.installed_ckan_version()}: supported and tested" in lines["ckan"]
    assert "no pending migrations" in lines["database"]
    assert "answers; schema version accepted" in lines["search"]
    assert "has every field the extension indexes" in lines["search schema"]
    assert result.exit_code == 0, result.output


@pytest.mark.usefixtures("with_plugins", "plugin_db", "empty_harvest_queues")
def test_json_output_lists_every_check(cli):
    result = _run_doctor(cli, "--json")

    report = json.loads(result.output)
    assert [check["name"] for check in report["checks"]] == [
        "ckan", "database", "datastore", "redis", "search", "search schema", "plugin order",
        "harvest consumers", "harvest jobs", "harvest runs"]
    assert report["ok"] is all(check["ok"] for check in report["checks"])
    assert result.exit_code == (0 if report["ok"] else 1)


# --------------------------------------------------------------------------- failures


@pytest.mark.usefixtures("with_plugins")
def test_unreachable_redis_is_named(cli, monkeypatch):
    # set after the plugins load, as the search service's below: CKAN 2.10
    # and 2.11 suites have CKAN_REDIS_URL (scripts/lib.sh), applied over a mark
    monkeypatch.setitem(tk.config, "ckan.redis.url", f"redis://127.0.0.1:{CLOSED_PORT}/1")
    result = _run_doctor(cli)

    line = _lines(result.output)["redis"]
    assert line.startswith(
        f"[FAIL] redis: cannot connect to redis://127.0.0.1:{CLOSED_PORT}/1: connection refused")
    assert "start Redis (systemctl start redis-server) or fix ckan.redis.url" in line
    assert result.exit_code == 1


@pytest.mark.usefixtures("with_plugins")
def test_unreachable_search_service_is_named(cli, monkeypatch):
    # set after the plugins load: loading them applies CKAN_SOLR_URL over a
    # ckan_config mark, and a test run may point CKAN_SOLR_URL elsewhere
    monkeypatch.setitem(tk.config, "solr_url", f"http://127.0.0.1:{CLOSED_PORT}/solr/ckan_test")
    result = _run_doctor(cli)

    line = _lines(result.output)["search"]
    assert line.startswith(
        "[FAIL] search: cannot reach the search service at "
        f"http://127.0.0.1:{CLOSED_PORT}/solr/ckan_test: connection refused")
    assert "start pgsolr (pgsolr serve --dsn" in line
    assert result.exit_code == 1


def test_schema_without_the_extensions_fields_names_them():
    from pgsolr.schema import default_schema_path, load_schema

    ckan_only = pathlib.Path(default_schema_path()).read_text(encoding="utf-8")
    missing = search.missing_index_fields(ckan_only)
    bbox, facets, extras = (
        "ckanext-spatial's bbox search (float fields of pgsolr/schema-addition.xml)",
        "the facets (multi-valued string fields vocab_*)",
        "the schema's own fields (text fields extras_*)")
    assert list(missing) == [bbox]
    assert sorted(missing[bbox]) == ["bbox_area", "maxx", "maxy", "minx", "miny"]
    # without CKAN's dynamic fields the catch-all "*" (one string) remains
    without_dynamic = re.sub(r'<dynamicField name="(vocab|extras)_\*"[^>]*/>', "", ckan_only)
    missing = search.missing_index_fields(without_dynamic)
    assert missing[facets] == ["vocab_gk_theme", "vocab_gk_district", "vocab_gk_quarter"]
    assert missing[extras] == ["extras_contact_name"]
    assert search.missing_index_fields(load_schema().xml) == {}


@pytest.mark.usefixtures("with_plugins")
def test_search_service_without_the_spatial_fields_is_named(cli, monkeypatch, tmp_path):
    """A real pgsolr serving CKAN's schema without the addition, as a stock
    Solr core would: the check names the missing fields and the fix."""
    from pgsolr.schema import default_schema_path, load_schema
    from pgsolr.server import create_server
    from tests.pgsolr.conftest import DSN, _ensure_database

    _ensure_database(DSN)
    server = create_server(DSN, "127.0.0.1", 0,
                           schema=load_schema(default_schema_path())).start()
    try:
        monkeypatch.setitem(tk.config, "solr_url", f"{server.url}/ckan_doctor")
        result = _run_doctor(cli)
    finally:
        server.stop()
    line = _lines(result.output)["search schema"]
    assert line.startswith("[FAIL] search schema: pgsolr at "), line
    assert "lacks bbox_area, maxx, maxy, minx, miny for ckanext-spatial's bbox search" in line, line
    assert "pgsolr print-schema" in line
    assert result.exit_code == 1


# The plugin left one revision behind: activity, whose tables CKAN 2.11
# moved from core's migrations into the plugin's; on CKAN 2.10 harvest.
if (pathlib.Path(importlib.util.find_spec("ckanext.activity").origin).parent
        / "migration").is_dir():
    BEHIND, BEHIND_AT, BEHIND_PENDING = "activity", "71713a055d5c", "fab3bfdcf830"
else:
    BEHIND, BEHIND_AT, BEHIND_PENDING = "harvest", "3b4894672727", "75d650dfd519"


@pytest.mark.usefixtures("with_plugins")
def test_pending_migrations_are_named_with_their_revisions(cli, throwaway_db, monkeypatch):
    # sqlalchemy.url is switched inside the test only: loading and unloading
    # plugins (with_plugins) re-creates CKAN's engine from sqlalchemy.url, so
    # a ckan_config mark would bind the whole model to the throwaway database.
    application_engine = model.meta.engine
    with monkeypatch.context() as patch:
        patch.setitem(tk.config, "sqlalchemy.url", throwaway_db)

        # An empty database: CKAN core has never been migrated.
        result = services.check_database()
        assert not result.ok
        assert "migrations pending for CKAN core:" in result.detail
        assert "db upgrade" in result.fix

        # Everything at head except one plugin, one revision behind.
        for plugin in [""] + tk.config["ckan.plugins"]:
            if ckan_db.current_revision(plugin) is not None:
                with ckan_db._repo_for_plugin(plugin) as repo:
                    repo.setup_migration_version_control()
                    stamp(repo.alembic_config, "head")
        with ckan_db._repo_for_plugin(BEHIND) as repo:
            repo.setup_migration_version_control()
            stamp(repo.alembic_config, BEHIND_AT)
        # CKAN core's alembic env.py re-binds the model (init_model) when
        # stamping: undo that, as the doctor does after its own check.
        model.init_model(application_engine)

        result = _run_doctor(cli)

    line = _lines(result.output)["database"]
    assert line.startswith(f"[FAIL] database: postgresql://ckan_default:***@127.0.0.1/"
                           f"{THROWAWAY_DB}")
    assert f"migrations pending for {BEHIND}: 1 pending ({BEHIND_PENDING})" in line
    assert "CKAN core" not in line
    assert "db upgrade" in line
    assert result.exit_code == 1
    # The doctor leaves the application's engine as it found it.
    assert model.meta.engine is application_engine


def _source_with_job(org: dict, title: str, url: str, status: str):
    """A harvest source of ``org`` and one job of it in ``status``."""
    source = harvest_factories.HarvestSourceObj(title=title, url=url, owner_org=org["id"])
    job = harvest_factories.HarvestJobObj(source=source)
    job.status = status
    return source, job


@pytest.mark.ckan_config("ckanext.gelsenkirchen.doctor.stuck_job_minutes", 60)
@pytest.mark.usefixtures("harvest_test_plugin", "plugin_db", "empty_harvest_queues")
def test_harvest_job_stuck_in_running_is_listed_with_its_source(cli):
    org = factories.Organization()
    source, job = _source_with_job(org, "WLAN-Hotspots Gelsenkirchen",
                                   "http://wifi.example.org/hotspots.json", "Running")
    job.created = datetime.datetime.utcnow() - datetime.timedelta(hours=3)
    model.Session.commit()
    fresh = harvest_factories.HarvestJobObj(
        source=harvest_factories.HarvestSourceObj(title="Breitband",
                                                  url="http://broadband.example.org/",
                                                  owner_org=org["id"]))
    fresh.status = "Running"
    model.Session.commit()

    result = _run_doctor(cli)

    line = _lines(result.output)["harvest jobs"]
    assert line.startswith("[FAIL] harvest jobs: 1 job(s) Running for longer than 60 min: "
                           f"'WLAN-Hotspots Gelsenkirchen' job {job.id} running for 180 min")
    assert "Breitband" not in line
    source_name = model.Package.get(source.id).name
    assert f"ckan -c {tk.config['__file__']} harvester job-abort {source_name}" in line
    assert result.exit_code == 1


@pytest.mark.ckan_config("ckanext.gelsenkirchen.doctor.queue_wait_minutes", 10)
@pytest.mark.usefixtures("harvest_test_plugin", "plugin_db", "empty_harvest_queues",
                         "queued_object")
def test_fetch_queue_without_consumer_is_reported(cli):
    result = _run_doctor(cli)

    line = _lines(result.output)["harvest consumers"]
    assert line.startswith("[FAIL] harvest consumers: no live gather consumer (no heartbeat in "
                           "Redis); no live fetch consumer (no heartbeat in Redis), 1 message(s) "
                           "waiting")
    ini = tk.config["__file__"]
    assert f"start `ckan -c {ini} gelsenkirchen harvest-consumer gather`" in line
    assert f"start `ckan -c {ini} gelsenkirchen harvest-consumer fetch`" in line
    assert result.exit_code == 1


@pytest.mark.ckan_config("ckanext.gelsenkirchen.doctor.queue_wait_minutes", 10)
@pytest.mark.usefixtures("harvest_test_plugin", "plugin_db", "empty_harvest_queues")
def test_a_dead_gather_consumer_is_named_beside_a_live_fetch_consumer(cli):
    fetch = harvest_consumers.Heartbeat("fetch", 10)
    fetch.set("waiting")
    fetch.beat()
    try:
        result = _run_doctor(cli)
    finally:
        fetch.stop()

    line = _lines(result.output)["harvest consumers"]
    assert line.startswith("[FAIL] harvest consumers: no live gather consumer")
    assert "fetch: 1 live consumer(s) (pid " in line
    assert "harvest-consumer gather`" in line and "harvest-consumer fetch`" not in line
    assert result.exit_code == 1


@pytest.mark.ckan_config("ckanext.gelsenkirchen.doctor.queue_wait_minutes", 10)
@pytest.mark.usefixtures("harvest_test_plugin", "plugin_db", "empty_harvest_queues",
                         "live_consumers", "queued_object")
def test_messages_waiting_while_the_consumers_are_busy_are_reported(cli):
    result = _run_doctor(cli)

    line = _lines(result.output)["harvest consumers"]
    assert line.startswith("[FAIL] harvest consumers: fetch queue: 1 message(s) waiting, the "
                           "oldest 40 min (limit 10 min), none taken since; its consumers are "
                           "busy or hung: pid ")
    assert result.exit_code == 1


@pytest.mark.usefixtures("harvest_test_plugin", "plugin_db", "empty_harvest_queues")
def test_a_source_whose_last_run_errored_is_named_with_the_fix(cli):
    from ckanext.harvest.model import HarvestGatherError

    org = factories.Organization()
    source, job = _source_with_job(org, "WLAN-Hotspots Stadt",
                                   "http://wifi.example.org/hotspots.csv", "Finished")
    job.finished = datetime.datetime.utcnow()
    HarvestGatherError(message="The source could not be harvested: HTTP 503", job=job).save()
    model.Session.commit()

    result = _run_doctor(cli)

    line = _lines(result.output)["harvest runs"]
    name = model.Package.get(source.id).name
    assert "other harvesters: 1 of 1 source(s) whose last run errored: " in line
    assert line.startswith("[FAIL] harvest runs: ")
    assert (f"'WLAN-Hotspots Stadt' ({name}): last run {job.id} ended with "
            "errors: The source could not be harvested: HTTP 503") in line
    assert f"harvester run-test {name}" in line
    assert f"/harvest/{name}/job/{job.id}" in line
    assert result.exit_code == 1


@pytest.mark.ckan_config("ckan.plugins", "scheming_datasets gelsenkirchen spatial_query "
                         "spatial_metadata harvest dcat datastore datatables_view activity")
@pytest.mark.usefixtures("with_plugins")
def test_wrong_plugin_order_is_explained_with_the_recommended_line(cli):
    result = _run_doctor(cli)

    line = _lines(result.output)["plugin order"]
    assert line.startswith(
        "[FAIL] plugin order: scheming_datasets comes before gelsenkirchen, so its templates")
    assert "spatial_query comes before spatial_metadata" in line
    assert f"use ckan.plugins = {plugins.RECOMMENDED_PLUGINS}" in line
    assert result.exit_code == 1


def test_harvester_plugins_need_harvest():
    result = plugins.check_plugin_order(["gelsenkirchen", "dcat_rdf_harvester", "dcat"])

    assert not result.ok
    assert result.detail == "dcat_rdf_harvester needs the harvest plugin, which is not enabled"


def test_recommended_plugins_start_with_gelsenkirchen_and_pass_the_check():
    assert plugins.RECOMMENDED_PLUGINS.startswith("gelsenkirchen ")
    assert plugins.check_plugin_order(plugins.RECOMMENDED_PLUGINS).ok
