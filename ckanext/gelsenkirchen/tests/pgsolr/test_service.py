"""Schema endpoints, ping, cores/site isolation, restart persistence."""
from __future__ import annotations

import uuid

import pysolr
import requests

from ckanext.gelsenkirchen.pgsolr.server import create_server

from .conftest import make_doc


def test_schema_endpoints(core_url: str) -> None:
    managed = requests.get(core_url + "/schema?wt=schema.xml", timeout=10)
    classic = requests.get(core_url + "/admin/file/?file=schema.xml", timeout=10)
    assert managed.status_code == classic.status_code == 200
    assert managed.text == classic.text
    assert '<schema name="ckan-2.12"' in managed.text
    assert '<field name="bbox_area" type="float" indexed="true" stored="true"' in managed.text
    assert requests.get(core_url + "/schema/version", timeout=10).json()["version"] == 1.6
    assert requests.get(core_url + "/admin/ping", timeout=10).json()["status"] == "OK"


def test_ckan_schema_version_check_accepts_it(core_url: str, monkeypatch) -> None:
    # CKAN's own check against this server (ckan imported only inside this test)
    from ckan.common import config
    from ckan.lib.search import check_solr_schema_version

    for key, value in (("solr_url", core_url), ("solr_user", None), ("solr_password", None),
                       ("solr_timeout", 10), ("ckan.requests.timeout", 10)):
        monkeypatch.setitem(config, key, value)
    assert check_solr_schema_version() is True


def test_cores_and_site_ids_are_isolated(pgsolr_server) -> None:
    a = pysolr.Solr(f"{pgsolr_server.url}/iso_{uuid.uuid4().hex[:8]}", always_commit=True)
    b = pysolr.Solr(f"{pgsolr_server.url}/iso_{uuid.uuid4().hex[:8]}", always_commit=True)
    a.add([make_doc("one"), make_doc("two", site_id="site-b")])
    b.add([make_doc("three")])
    assert sorted(d["id"] for d in a.search("*:*").docs) == ["one", "two"]
    assert [d["id"] for d in a.search("*:*", fq='+site_id:"site-b"').docs] == ["two"]
    assert [d["id"] for d in b.search("*:*").docs] == ["three"]
    a.delete(q="*:*")
    assert b.search("*:*").hits == 1
    b.delete(q="*:*")


def test_data_survives_restart(pgsolr_dsn: str) -> None:
    core = "restart_" + uuid.uuid4().hex[:8]
    server = create_server(pgsolr_dsn, "127.0.0.1", 0).start()
    try:
        pysolr.Solr(f"{server.url}/{core}", always_commit=True).add(
            [make_doc("kept", title="Dauerhaft gespeichert")])
    finally:
        server.stop()
    server = create_server(pgsolr_dsn, "127.0.0.1", 0).start()
    try:
        solr = pysolr.Solr(f"{server.url}/{core}", always_commit=True)
        assert [d["id"] for d in solr.search("gespeichert").docs] == ["kept"]
        solr.delete(q="*:*")
    finally:
        server.stop()
