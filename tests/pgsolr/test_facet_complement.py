"""Facet counts over the complement of a large match set (core totals cached
per write generation) equal the direct counts, also after updates/deletes."""
from __future__ import annotations

import random
from typing import Any

import pysolr
import pytest

from pgsolr import search
from pgsolr.server import PgSolrServer

from .conftest import make_doc

TAGS = ["a", "b", "c", "d", "e", "f", "Ä", "ab", "abc", "z"]
ORGS = ["o1", "o2", "o3", "o4"]


def _doc(i: int, rnd: random.Random) -> dict[str, Any]:
    fields: dict[str, Any] = {"tags": rnd.sample(TAGS, rnd.randint(0, 4)),
                              "num_resources": rnd.randint(0, 3)}
    if rnd.random() < 0.8:
        fields["organization"] = rnd.choice(ORGS)
    if not fields["tags"]:
        del fields["tags"]
    return make_doc(f"d{i}", **fields)


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("*:*", {}),
    ("*:*", {"facet.mincount": 0}),
    ("*:*", {"facet.limit": 3, "facet.offset": 1}),
    ("*:*", {"facet.sort": "index", "facet.limit": -1}),
    ("*:*", {"facet.prefix": "a", "facet.mincount": 0}),
    ("*:*", {"facet.mincount": 5}),
    ("-organization:o1", {"facet.mincount": 0, "facet.limit": 4}),
    ("-tags:z", {"facet.sort": "index", "facet.offset": 2}),
    ("organization:o2", {"facet.mincount": 0}),
    ("*:*", {"facet.missing": "true"}),
]


def _facets(solr: pysolr.Solr, q: str, extra: dict[str, Any]) -> Any:
    params = {"facet": "true", "facet.field": ["tags", "organization", "num_resources"],
              "rows": 0, **extra}
    res = solr.search(q, **params)
    return res.hits, res.facets["facet_fields"]


def _direct(server: PgSolrServer, solr: pysolr.Solr, monkeypatch: pytest.MonkeyPatch,
            q: str, extra: dict[str, Any]) -> Any:
    server.app.searcher._totals.clear()
    monkeypatch.setattr(search, "TOTALS_MIN_MATCHES", 10 ** 9)
    out = _facets(solr, q, extra)
    monkeypatch.setattr(search, "TOTALS_MIN_MATCHES", 0)
    return out


def _check_all(server: PgSolrServer, solr: pysolr.Solr, monkeypatch: pytest.MonkeyPatch) -> None:
    for q, extra in QUERIES:
        expected = _direct(server, solr, monkeypatch, q, extra)
        _facets(solr, "*:*", {})            # loads the totals
        assert server.app.searcher._totals
        assert _facets(solr, q, extra) == expected, (q, extra)


def test_complement_counts_match_direct(pgsolr_server: PgSolrServer, solr: pysolr.Solr,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(search, "TOTALS_MIN_MATCHES", 0)
    rnd = random.Random(7)
    solr.add([_doc(i, rnd) for i in range(60)])
    _check_all(pgsolr_server, solr, monkeypatch)
    # writes change the generation: cached totals are not reused
    _facets(solr, "*:*", {})
    solr.add([make_doc("d1", tags=["z", "z2"], organization="o9")])   # update
    solr.delete(id="idx-d2")
    hits, ff = _facets(solr, "*:*", {"facet.limit": -1})
    assert hits == 59
    assert dict(zip(ff["organization"][::2], ff["organization"][1::2], strict=True))["o9"] == 1
    assert "z2" in ff["tags"]
    _check_all(pgsolr_server, solr, monkeypatch)
    solr.delete(q="organization:o3")
    _facets(solr, "*:*", {})
    assert "o3" not in _facets(solr, "*:*", {})[1]["organization"]
    _check_all(pgsolr_server, solr, monkeypatch)
