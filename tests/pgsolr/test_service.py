"""Schema endpoints, ping, cores/site isolation, restart persistence."""
from __future__ import annotations

import uuid

import pysolr
import requests

from ckanext.gelsenkirchen import compat
from pgsolr.server import create_server

from .conftest import make_doc


def test_schema_endpoints(core_url: str) -> None:
    managed = requests.get(core_url + "/schema?wt=schema.xml", timeout=10)
    classic = requests.get(core_url + "/admin/file/?file=schema.xml", timeout=10)
    assert managed.status_code == classic.status_code == 200
    assert managed.text == classic.text
    assert f'<schema name="{compat.solr_schema_name()}"' in managed.text
    assert '<field name="bbox_area" type="float" indexed="true" stored="true"' in managed.text
    assert requests.get(core_url + "/schema/version", timeout=10).json()["version"] == 1.6
    assert requests.get(core_url + "/admin/ping", timeout=10).json()["status"] == "OK"


def test_responses_name_pgsolr(core_url: str) -> None:
    # ckan gelsenkirchen doctor tells pgsolr from Solr by the ping answer
    ping = requests.get(core_url + "/admin/ping", params={"wt": "json"}, timeout=10)
    assert ping.headers["X-Search-Server"] == "pgsolr"
    assert ping.json()["server"] == "pgsolr"
    for path in ("/select?q=*:*", "/schema/version", "/no-such-endpoint"):
        assert requests.get(core_url + path, timeout=10).headers["X-Search-Server"] == "pgsolr"


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


def test_storage_upgrades_in_place_on_start(pgsolr_server, pgsolr_dsn) -> None:
    import psycopg2

    from pgsolr.store import STORAGE_VERSION, Store

    core = f"upg_{uuid.uuid4().hex[:8]}"
    solr = pysolr.Solr(f"{pgsolr_server.url}/{core}", always_commit=True)
    solr.add([make_doc("box", title="Some public stuff", minx=7.0, miny=51.4, maxx=7.1,
                       maxy=51.5, bbox_area=0.01)])
    # turn the storage back into version 1: no bbox columns, no version row,
    # title_ngram analysed like any text field
    conn = psycopg2.connect(pgsolr_dsn)
    with conn, conn.cursor() as cur:
        cur.execute("ALTER TABLE pgsolr_doc DROP COLUMN minx, DROP COLUMN maxx, DROP COLUMN miny,"
                    " DROP COLUMN maxy, DROP COLUMN bbox_area")
        cur.execute("DELETE FROM pgsolr_meta")
        cur.execute("""UPDATE pgsolr_doc SET tsv = ts_delete(tsv, ARRAY(SELECT lexeme FROM
            unnest(tsv) WHERE lexeme LIKE 'title\\_ngram:%%')) || %s::tsvector
            WHERE core = %s""", ("'title_ngram:public'", core))
    try:
        for _ in range(2):  # idempotent
            store = Store(pgsolr_dsn, maxconn=1)
            store.init_schema(pgsolr_server.app.schema)
            store.close()
        with conn, conn.cursor() as cur:
            cur.execute("SELECT value FROM pgsolr_meta WHERE key = 'storage_version'")
            assert cur.fetchone()[0] == str(STORAGE_VERSION)
            cur.execute("SELECT minx, maxy FROM pgsolr_doc WHERE core = %s", (core,))
            assert cur.fetchone() == (7.0, 51.5)
        assert solr.search("title_ngram:bli").hits == 1
        assert solr.search("*:*", fq="{!frange l=0.5}maxx").hits == 1
    finally:
        conn.close()
        solr.delete(q="*:*")
