"""Hostile requests (issue 12, findings 1 and 8): every one is answered
quickly with a result or a Solr 400, and the SQL it builds stays small."""
from __future__ import annotations

import time

import pytest
import requests

from pgsolr.errors import SolrError
from pgsolr.functions import MAX_DEPTH, compile_function
from pgsolr.schema import load_schema

SCHEMA = load_schema()


def _select(core_url: str, **params: str) -> requests.Response:
    return requests.get(core_url + "/select", params=params, timeout=30)


def _nested(fn: str, depth: int) -> str:
    """``fn`` applied ``depth`` times around the field minx; every level
    uses its argument twice in the SQL that doubled before the fix."""
    text = "minx"
    for _ in range(depth):
        text = {"sqrt": "sqrt({})", "div": "div(1,{})",
                "recip": "recip({},1,1,1)"}[fn].format(text)
    return text


# -- finding 1: function queries (bf, boost, {!frange}, {!func}) -------------------------

@pytest.mark.parametrize("fn", ["sqrt", "div", "recip"])
def test_function_sql_grows_linearly_with_nesting(fn: str) -> None:
    sizes = {}
    for depth in (10, 20, 40):
        sql, params = compile_function(_nested(fn, depth), SCHEMA)
        sizes[depth] = len(sql) + len(params)
    # doubling the depth at most doubles the SQL (plus the constant leaf);
    # before the fix, depth 40 of sqrt() built 2^40 copies of the leaf
    assert sizes[20] <= 2 * sizes[10] + 100, sizes
    assert sizes[40] <= 2 * sizes[20] + 100, sizes
    assert sizes[40] < 40 * 200, sizes


def test_attack_bf_of_136_characters(core_url: str) -> None:
    """The reproducer of the issue: a 136-character bf that built a 247 MB
    SQL string now compiles to a few kB and is answered at once."""
    bf = "sqrt(" * 22 + "minx" + ")" * 22
    assert len(bf) == 136
    sql, _ = compile_function(bf, SCHEMA)
    assert len(sql) < 5000
    t0 = time.monotonic()
    r = _select(core_url, q="x", defType="edismax", qf="title", bf=bf, boost=bf,
                fl="id,score")
    assert time.monotonic() - t0 < 5
    assert r.status_code == 200, r.text


def test_function_depth_and_size_are_capped(core_url: str) -> None:
    with pytest.raises(SolrError) as err:
        compile_function(_nested("sqrt", MAX_DEPTH + 1), SCHEMA)
    assert err.value.code == 400
    too_long = "add(" + ",".join(["1"] * 3000) + ")"
    for params in ({"bf": _nested("div", MAX_DEPTH + 1)}, {"boost": too_long},
                   {"bf": too_long}, {"fq": "{!frange l=0}" + too_long}):
        r = _select(core_url, **{"q": "x", "defType": "edismax", **params})
        assert r.status_code == 400, params
        body = r.json()
        assert body["error"]["code"] == 400 and body["responseHeader"]["status"] == 400
        assert "function" in body["error"]["msg"], body["error"]["msg"]


def test_function_values_unchanged(solr, core_url: str) -> None:
    """div, sqrt and recip still give Solr's values, and no value (so no
    frange match) where Solr gives Infinity or NaN."""
    from .conftest import make_doc

    solr.add([make_doc("a", minx=4.0), make_doc("b", minx=-4.0), make_doc("c", minx=0.0)])

    def matching(func: str, low: float, high: float) -> list[str]:
        r = _select(core_url, q="*:*", fq=f"{{!frange l={low} u={high}}}{func}", fl="id",
                    sort="id asc")
        assert r.status_code == 200, r.text
        return [d["id"] for d in r.json()["response"]["docs"]]

    assert matching("sqrt(minx)", 2, 2) == ["a"]
    assert matching("sqrt(minx)", -1e9, 1e9) == ["a", "c"]       # sqrt(-4): no value
    assert matching("div(1,minx)", -1e9, 1e9) == ["a", "b"]      # 1/0: no value
    assert matching("div(8,minx)", -2, -2) == ["b"]
    assert matching("recip(minx,1,8,4)", 1, 1) == ["a"]          # 8/(4+4)
    assert matching("recip(minx,1,8,4)", -1e9, 1e9) == ["a", "c"]  # 8/(-4+4): none
    assert matching("recip(minx,2,3,0)", 0.375, 0.375) == ["a"]  # 3/(2*4+0)


# -- finding 8: malformed parameters are 400s, never 500s ---------------------------------

DISMAX = {"q": "hotspot park", "defType": "dismax", "qf": "name title"}
MALFORMED = [
    dict(DISMAX, qf="name^inf title"),
    dict(DISMAX, qf="name^nan title"),
    dict(DISMAX, qf="name^-inf"),
    dict(DISMAX, tie="nan"),
    dict(DISMAX, tie="inf"),
    dict(DISMAX, q="a b c d e", mm="inf%"),
    dict(DISMAX, q="a b c d e", mm="-inf%"),
    {"q": "(" * 3000 + "a" + ")" * 3000},
    {"q": "NOT " * 2000 + "a"},
    {"q": "+" * 5000 + "a"},
    {"q": "*:*", "fq": "-" * 5000 + "a"},
    {"q": "*:*", "TZ": "Mars/Olympus"},
    {"q": "*:*", "TZ": "GMT+99"},
    {"q": "*:*", "TZ": "../../etc/passwd"},
    {"q": "*:*", "TZ": "zone.tab"},
    {"q": 'metadata_modified:["0001-01-01T00:00:00+01:00" TO *]'},
    {"q": 'metadata_modified:["9999-12-31T23:59:59-01:00" TO *]'},
    {"q": 'metadata_modified:["2024-01-01T00:00:00+99:00" TO *]'},
    {"q": "*:*", "start": "99999999999999999999"},
    {"q": "*:*", "rows": "99999999999999999999"},
    {"q": "*:*", "facet": "true", "facet.field": "tags", "facet.limit": "99999999999999999999"},
    {"q": "*:*", "facet": "true", "facet.field": "tags", "facet.offset": "1e3"},
    {"q": "*:*", "sort": ", ".join(["name asc"] * 30)},
    {"q": " ".join(f"w{i}" for i in range(1100))},
    dict(DISMAX, q=" ".join(f"w{i}" for i in range(300)), qf="name title text tags"),
]


@pytest.mark.parametrize("params", MALFORMED, ids=lambda p: str(p)[:60])
def test_malformed_parameter_answers_400(core_url: str, params: dict[str, str]) -> None:
    r = _select(core_url, **params)
    assert r.status_code == 400, r.text[:300]
    body = r.json()
    assert body["responseHeader"]["status"] == 400
    assert body["error"]["code"] == 400 and body["error"]["msg"]
    assert "Traceback" not in r.text and "psycopg2" not in r.text


def test_too_many_or_too_long_values(core_url: str) -> None:
    r = requests.get(core_url + "/select", params=[("q", "*:*")] + [("fq", "name:x")] * 101,
                     timeout=30)
    assert r.status_code == 400 and "Too many values of parameter 'fq'" in r.json()["error"]["msg"]
    r = requests.post(core_url + "/select", data={"q": "*:*", "fl": "id," * 10001}, timeout=30)
    assert r.status_code == 400 and "Parameter 'fl' too long" in r.json()["error"]["msg"]


def test_time_zone_parameter(solr, core_url: str) -> None:
    """TZ, as in Solr: date math rounds (and adds days) in that zone."""
    from .conftest import make_doc

    # 23:30 UTC on 30 March is already 31 March in Berlin (00:30 CET)
    solr.add([make_doc("late", metadata_modified="2024-03-30T23:30:00Z")])
    q = 'metadata_modified:["2024-03-31T00:30:00Z/DAY" TO *]'
    assert _select(core_url, q=q).json()["response"]["numFound"] == 0
    for tz in ("Europe/Berlin", "GMT+01:00", "GMT+1"):
        assert _select(core_url, q=q, TZ=tz).json()["response"]["numFound"] == 1, tz
    # ... and in New York the bound is 30 March 00:00 EDT (04:00 UTC)
    q = 'metadata_modified:["2024-03-31T03:00:00Z/DAY" TO *]'
    assert _select(core_url, q=q).json()["response"]["numFound"] == 0
    assert _select(core_url, q=q, TZ="America/New_York").json()["response"]["numFound"] == 1



# -- finding 8: time and connection limits --------------------------------------------------

@pytest.fixture(scope="module")
def slow_server(pgsolr_dsn: str):
    """A server with a 50 ms statement timeout, one connection that is
    waited for at most 0.3 s, and a core of 1,000 documents of 200 random
    words each (a text wildcard reads all 200,000 lexemes: ~0.2 s)."""
    import random

    import pysolr

    from pgsolr.server import create_server

    server = create_server(pgsolr_dsn, "127.0.0.1", 0, maxconn=1, statement_timeout=0.05,
                           pool_timeout=0.3, max_scan_docs=500).start()
    url = f"{server.url}/limits_slow"
    solr = pysolr.Solr(url, always_commit=True)
    rnd = random.Random(12)
    words = ["".join(rnd.choice("abcdefghijklmnopqrstuvwxyz") for _ in range(8))
             for _ in range(5000)]
    solr.delete(q="*:*")
    solr.add([{"id": str(i), "index_id": f"i{i}", "site_id": "s", "name": f"n{i}",
               "entity_type": "package", "text": " ".join(rnd.sample(words, 200))}
              for i in range(1000)])
    yield server, url
    solr.delete(q="*:*")
    server.stop()


def test_statement_timeout_answers_503(slow_server) -> None:
    server, url = slow_server
    server.app.searcher.max_scan_docs = None
    try:
        t0 = time.monotonic()
        r = _select(url, q="text:*q*z* OR text:*x*y*", rows="0")
    finally:
        server.app.searcher.max_scan_docs = 500
    assert time.monotonic() - t0 < 5
    assert r.status_code == 503, r.text[:300]
    body = r.json()
    assert body["error"]["code"] == 503 and body["responseHeader"]["status"] == 503
    assert "statement timeout of 0.05 s" in body["error"]["msg"]
    # the connection is fine afterwards
    assert _select(url, q="id:1").json()["response"]["numFound"] == 1


def test_busy_pool_answers_503(slow_server) -> None:
    server, url = slow_server
    with server.app.store.connection():       # the only connection
        t0 = time.monotonic()
        r = _select(url, q="*:*")
        assert 0.25 < time.monotonic() - t0 < 5
    assert r.status_code == 503
    assert "database connections stayed busy for 0.3 s" in r.json()["error"]["msg"]
    assert _select(url, q="*:*").status_code == 200


def test_wildcard_and_regex_limits(slow_server, core_url: str) -> None:
    _, large = slow_server                    # 1,000 documents, max_scan_docs 500
    for q in ("text:*abc", "text:a*c", "text:/a.*/", "text:?bc*"):
        r = _select(large, q=q)
        assert r.status_code == 400, q
        assert "not allowed on cores with more than 500 documents" in r.json()["error"]["msg"]
    # prefixes use the index; string fields are cheap to scan
    for q in ("text:abc*", "name:*1*", "name:/n1.*/"):
        assert _select(large, q=q).status_code == 200, q
    # on any core: at most MAX_SCAN_TERMS such terms, patterns of MAX_PATTERN_LEN
    from pgsolr.limits import MAX_PATTERN_LEN, MAX_SCAN_TERMS

    many = " OR ".join(f"title:*a{i}" for i in range(MAX_SCAN_TERMS + 1))
    assert _select(core_url, q=" OR ".join(f"title:*a{i}" for i in range(MAX_SCAN_TERMS))
                   ).status_code == 200
    for params in ({"q": many}, {"q": "*:*", "fq": many},
                   {"q": "title:*a", "fq": [f"name:*b{i}" for i in range(MAX_SCAN_TERMS)]},
                   {"q": "name:" + "a" * MAX_PATTERN_LEN + "*?"},
                   {"q": "title:/" + "a" * (MAX_PATTERN_LEN + 1) + "/"}):
        r = _select(core_url, **params)
        assert r.status_code == 400, params
        assert r.json()["error"]["msg"].startswith("org.apache.solr.search.SyntaxError")


# -- found by the fuzzer (test_fuzz.py): each answered 500 before its fix -------------------

FUZZ_FOUND = [
    # a query with no term left after analysis matches nothing
    ({"q": "\b"}, 200),
    ({"q": "."}, 200),
    ({"q": "{!field f=text}"}, 200),
    ({"q": "{!field f=title}."}, 200),
    # PostgreSQL's text cannot hold NUL
    ({"q": "\x00"}, 400),
    ({"q": "*:*", "fq": "name:a\x00b"}, 400),
]


@pytest.mark.parametrize("params,status", FUZZ_FOUND, ids=lambda p: repr(p)[:60])
def test_found_by_fuzzing(core_url: str, params: dict[str, str], status: int) -> None:
    r = requests.post(core_url + "/select", data=params, timeout=30)
    assert r.status_code == status, r.text[:300]
    if status == 400:
        assert r.json()["error"]["code"] == 400
