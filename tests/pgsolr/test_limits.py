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
