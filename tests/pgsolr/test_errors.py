"""Malformed input gives Solr-shaped 400s; injection attempts do nothing."""
from __future__ import annotations

import psycopg2
import pysolr
import pytest
import requests

from .conftest import make_doc


def _select(core_url: str, **params: str) -> requests.Response:
    return requests.get(core_url + "/select", params=params, timeout=10)


def test_malformed_query_gives_400_body(core_url: str) -> None:
    r = _select(core_url, q="title:(foo AND", wt="json")
    assert r.status_code == 400
    body = r.json()
    assert body["responseHeader"]["status"] == 400
    assert body["error"]["code"] == 400
    assert body["error"]["msg"].startswith("org.apache.solr.search.SyntaxError")
    assert "Traceback" not in r.text


def test_undefined_field_and_bad_values(core_url: str) -> None:
    schema_without_star = _select(core_url, q="nofield:x")
    # CKAN's schema has a '*' dynamic field, so any name is defined there
    assert schema_without_star.status_code == 200
    for params in ({"q": "metadata_modified:[bogus TO *]"}, {"q": "*:*", "rows": "abc"},
                   {"q": "*:*", "start": "-1"}, {"q": "bbox_area:notanumber"},
                   {"q": "*:*", "fq": "{!frange l=0 u=1}nosuchfunc(1)"},
                   {"q": "*:*", "fq": "{!unknownparser}x"}, {"q": "bad field:[x"},
                   {"q": "*:*", "facet": "true", "facet.field": "tags", "facet.limit": "x"},
                   {"q": "foo bar", "mm": "x", "defType": "dismax"}):
        r = _select(core_url, **params)
        assert r.status_code == 400, params
        assert "Traceback" not in r.text and "psycopg2" not in r.text


def test_sort_errors_match_what_ckan_checks(core_url: str) -> None:
    for sort in ("metadata_modified", "name sideways"):
        r = _select(core_url, q="*:*", sort=sort)
        assert r.status_code == 400
        assert "Can't determine a Sort Order" in r.json()["error"]["msg"]
    r = _select(core_url, q="*:*", sort="tags asc")
    assert r.status_code == 400 and "multivalued" in r.json()["error"]["msg"]


def test_unknown_sort_field_with_strict_schema(tmp_path, pgsolr_dsn: str) -> None:
    from pgsolr.schema import Schema
    from pgsolr.server import create_server

    xml = ('<schema name="mini" version="1.6"><types><fieldType name="string" '
           'class="solr.StrField"/></types><fields><field name="id" type="string"/>'
           '</fields><uniqueKey>id</uniqueKey></schema>')
    server = create_server(pgsolr_dsn, "127.0.0.1", 0, schema=Schema(xml)).start()
    try:
        url = f"{server.url}/strict_schema"
        r = _select(url, q="*:*", sort="nope asc")
        assert r.status_code == 400
        assert "Can't determine a Sort Order" in r.json()["error"]["msg"]
        r = _select(url, q="nope:x")
        assert r.status_code == 400 and "undefined field nope" in r.json()["error"]["msg"]
        with pytest.raises(pysolr.SolrError, match="unknown field"):
            pysolr.Solr(url, always_commit=True).add([{"id": "1", "nope": "x"}])
    finally:
        server.stop()


INJECTIONS = [
    "x'); DROP TABLE pgsolr_doc; --",
    "name:\"x' OR '1'='1\"",
    "title:'; DELETE FROM pgsolr_doc; --",
    "name:*'; DROP TABLE pgsolr_doc; --*",
]


def test_sql_injection_attempts(core_url: str, solr: pysolr.Solr, pgsolr_dsn: str) -> None:
    solr.add([make_doc("safe", title="sicher")])
    for attack in INJECTIONS:
        r = _select(core_url, q=attack)
        assert r.status_code in (200, 400) and "Traceback" not in r.text
        if r.status_code == 200:
            assert r.json()["response"]["numFound"] == 0
        r = _select(core_url, q="*:*", fq=attack)
        assert r.status_code in (200, 400)
    bad = [{"sort": "name asc; DROP TABLE pgsolr_doc"}, {"sort": "(select 1) asc"},
           {"fl": "id,'; DROP TABLE pgsolr_doc; --"}, {"facet": "true",
            "facet.field": "tags'); DROP TABLE pgsolr_doc; --"},
           {"q": "{!frange l=0 u=1}sub(1,0);DROP TABLE pgsolr_doc"}]
    for params in bad:
        r = _select(core_url, **dict({"q": "*:*"}, **params))
        assert r.status_code in (200, 400), params
        # the request is echoed in responseHeader.params (as Solr does), but
        # no database error text may leak
        assert "Traceback" not in r.text and "psycopg2" not in r.text
        assert "syntax error at" not in r.text
    r = requests.get(core_url.rsplit("/", 1)[0] + "/x';drop/select", timeout=10)
    assert r.status_code == 404
    with psycopg2.connect(pgsolr_dsn) as conn, conn.cursor() as cur:
        cur.execute("SELECT to_regclass('pgsolr_doc') IS NOT NULL")
        assert cur.fetchone()[0]
    assert [d["id"] for d in solr.search("sicher").docs] == ["safe"]


def test_bad_update_bodies(core_url: str) -> None:
    for body, ctype in (("<add><doc>", "text/xml"), ("{nope", "application/json"),
                        ("<!DOCTYPE x [<!ENTITY a 'b'>]><add/>", "text/xml")):
        r = requests.post(core_url + "/update", data=body, headers={"Content-type": ctype},
                          timeout=10)
        assert r.status_code == 400 and "Traceback" not in r.text
