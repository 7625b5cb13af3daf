"""Broad queries answered from document sets (pgsolr/docsets.py) return
exactly what the SQL path returns: counts, pages in every sort order,
scores, facets and facet queries, also after writes change the generation."""
from __future__ import annotations

import random
from typing import Any

import pysolr
import pytest
import requests

from pgsolr import search
from pgsolr.server import PgSolrServer

from .conftest import make_doc

TAGS = ["a", "b", "c", "d", "e", "Ä", "ab", "abc", "z"]
ORGS = ["o1", "o2", "o3", "o4"]
FACETS = ["tags", "organization", "num_resources", "res_format"]
BF = ("div(mul(mul(max(0,sub(min(7.1,maxx),max(7.0,minx))),"
      "max(0,sub(min(51.55,maxy),max(51.45,miny)))),2),"
      "add(0.01,mul(sub(maxy,miny),sub(maxx,minx))))")


def _doc(i: int, rnd: random.Random) -> dict[str, Any]:
    fields: dict[str, Any] = {
        "tags": rnd.sample(TAGS, rnd.randint(0, 3)),
        "num_resources": rnd.randint(0, 3),
        "res_format": rnd.sample(["CSV", "JSON", "PDF"], rnd.randint(1, 2)),
        "title_string": f"Titel {rnd.randint(0, 30):02d}",
        "metadata_modified": f"2024-0{rnd.randint(1, 9)}-{rnd.randint(10, 28)}T00:00:00Z",
        "permission_labels": ["public"] if rnd.random() < 0.9 else ["member-o1"],
    }
    if rnd.random() < 0.8:
        fields["organization"] = rnd.choice(ORGS)
    if rnd.random() < 0.7:
        cx, cy = 7.05 + rnd.uniform(-0.1, 0.1), 51.5 + rnd.uniform(-0.1, 0.1)
        fields.update(minx=cx - 0.01, maxx=cx + 0.01, miny=cy - 0.01, maxy=cy + 0.01,
                      bbox_area=0.0004)
    if not fields["tags"]:
        del fields["tags"]
    return make_doc(f"d{i}", **fields)


CKAN_FQ = ["+dataset_type:dataset", '+site_id:"site-a"', "+state:active",
           '+permission_labels:("public" OR "member-o2")']
QUERIES: list[dict[str, Any]] = [
    {},
    {"sort": "metadata_modified desc", "rows": 7},
    {"sort": "score desc, metadata_modified desc", "fl": "id,score", "rows": 5, "start": 3},
    {"sort": "title_string asc, name desc", "rows": 10, "start": 40},
    {"sort": "organization asc", "rows": 30},              # documents without a value
    {"sort": "num_resources desc, metadata_modified asc", "start": 55, "rows": 50},
    {"rows": 0, "fl": "*,score"},
    {"facet.mincount": 0, "facet.limit": 3, "facet.offset": 1},
    {"facet.sort": "index", "facet.limit": -1, "f.tags.facet.prefix": "a"},
    {"fq": CKAN_FQ + ["-organization:o1"], "facet.query": ["tags:a", "num_resources:[1 TO 2]"]},
    {"fq": CKAN_FQ + ["tags:z"], "sort": "metadata_modified desc"},
    {"fq": CKAN_FQ + ["text:abc OR name:d1*"], "rows": 20},   # full text: through the GIN index
    {"fq": CKAN_FQ + ["-tags:[* TO *]"], "facet.query": ["organization:o1"]},
    {"fq": CKAN_FQ + ["{!frange incl=false l=0 u=1}" + BF], "defType": "edismax", "bf": BF,
     "fl": "id,score", "sort": "score desc, metadata_modified desc", "rows": 12},
    {"fq": CKAN_FQ + ["{!frange incl=false l=0 u=1}" + BF], "defType": "edismax", "bf": BF,
     "fl": "*,score", "rows": 0},
    # scored by the function alone, ties (equal boxes) in the cached order of the other keys
    {"fq": CKAN_FQ + ["{!frange incl=false l=0 u=1}" + BF], "defType": "edismax", "bf": BF,
     "fl": "id,score", "sort": "score asc, title_string desc", "start": 9, "rows": 15},
]


def _search(solr: pysolr.Solr, extra: dict[str, Any]) -> Any:
    params: dict[str, Any] = {"fq": CKAN_FQ, "facet": "true", "facet.field": FACETS,
                              "facet.limit": 50, "facet.mincount": 1, **extra}
    res = solr.search("*:*", **params)
    return res.hits, res.raw_response["response"], res.raw_response["facet_counts"]


@pytest.fixture()
def docset_calls(pgsolr_server: PgSolrServer, monkeypatch: pytest.MonkeyPatch) -> list[bool]:
    """Records whether each docset attempt answered (True) or fell back."""
    calls: list[bool] = []
    real = search.Searcher._via_docsets

    def spy(self: search.Searcher, *args: Any, **kwargs: Any) -> Any:
        out = real(self, *args, **kwargs)
        calls.append(out is not None)
        return out

    monkeypatch.setattr(search.Searcher, "_via_docsets", spy)
    return calls


def _check_all(server: PgSolrServer, solr: pysolr.Solr, monkeypatch: pytest.MonkeyPatch,
               calls: list[bool]) -> None:
    for extra in QUERIES:
        monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 10 ** 9)
        server.app.searcher._broad.clear()
        before = len(calls)
        expected = _search(solr, extra)
        assert len(calls) == before and expected[0] > 0, extra   # the SQL path answered
        monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 1)
        _search(solr, {})                      # marks the core's generation as broad
        got = _search(solr, extra)
        assert calls[before:] == [True], extra   # answered from the sets
        assert got == expected, extra


def test_docsets_equal_sql_path(pgsolr_server: PgSolrServer, solr: pysolr.Solr,
                                monkeypatch: pytest.MonkeyPatch, docset_calls: list[bool]) -> None:
    rnd = random.Random(11)
    solr.add([_doc(i, rnd) for i in range(150)])
    _check_all(pgsolr_server, solr, monkeypatch, docset_calls)
    # a write changes the generation: the sets are rebuilt, not reused
    solr.add([make_doc("d1", tags=["neu"], organization="o9", title_string="AAA",
                       metadata_modified="2030-01-01T00:00:00Z")])
    solr.delete(id="idx-d2")
    hits, response, facets = _search(solr, {"sort": "metadata_modified desc", "rows": 1,
                                            "facet.limit": -1})
    assert response["docs"][0]["id"] == "d1"
    assert "neu" in facets["facet_fields"]["tags"]
    assert docset_calls[-1] is True
    _check_all(pgsolr_server, solr, monkeypatch, docset_calls)
    solr.delete(q="organization:o3")
    assert "o3" not in _search(solr, {})[2]["facet_fields"]["organization"]
    _check_all(pgsolr_server, solr, monkeypatch, docset_calls)


def test_a_large_core_uses_the_sets_before_any_broad_query(
        solr: pysolr.Solr, monkeypatch: pytest.MonkeyPatch, docset_calls: list[bool]) -> None:
    """The sets are chosen by the core's size: a portal whose first searches
    are rare words gets them from its second search on, without waiting for
    a query that matches many documents, and with the SQL path's answer."""
    monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 20)
    solr.add([make_doc(f"d{i:02d}", title="Friedhof Buer" if i in (3, 17) else f"Park {i}",
                       tags=["friedhof" if i in (3, 17) else "park"]) for i in range(25)])
    params = {"fq": CKAN_FQ, "defType": "edismax", "qf": "title^2 text", "fl": "id,score",
              "facet": "true", "facet.field": FACETS, "facet.mincount": 1}
    first = solr.search("Friedhof", **params)
    assert docset_calls == []                 # the core's first query: SQL, and counted
    second = solr.search("Friedhof", **params)
    assert docset_calls == [True]             # 25 documents >= 20: the sets answered
    assert first.hits == second.hits == 2
    assert first.docs == second.docs and first.facets == second.facets


def test_many_valued_facet_falls_back_to_sql(solr: pysolr.Solr, monkeypatch: pytest.MonkeyPatch,
                                             docset_calls: list[bool]) -> None:
    from pgsolr import docsets
    monkeypatch.setattr(docsets, "MAX_FACET_VALUES", 5)
    monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 1)
    solr.add([make_doc(f"d{i}", tags=[f"t{i}"]) for i in range(20)])
    solr.search("*:*")
    res = solr.search("*:*", **{"facet": "true", "facet.field": "tags", "facet.limit": -1})
    assert docset_calls[-1] is False                  # too many values: SQL counted them
    assert res.hits == 20 and len(res.facets["facet_fields"]["tags"]) == 40


def test_sets_follow_writes_without_rebuild(pgsolr_server: PgSolrServer, solr: pysolr.Solr,
                                           monkeypatch: pytest.MonkeyPatch,
                                           docset_calls: list[bool]) -> None:
    """Small writes advance the cached sets (new seqs added, gone ones
    dead) instead of rebuilding them; results stay equal to the SQL path."""
    from pgsolr import docsets
    advanced: list[bool] = []
    real = docsets.DocSets._advance

    def spy(*args: Any) -> Any:
        out = real(*args)
        advanced.append(out is not None)
        return out

    monkeypatch.setattr(docsets.DocSets, "_advance", staticmethod(spy))
    rnd = random.Random(5)
    solr.add([_doc(i, rnd) for i in range(120)])
    checks = [QUERIES[1], QUERIES[3], QUERIES[4], QUERIES[7], QUERIES[9], QUERIES[11], QUERIES[13]]
    assert "bf" in checks[-1] and "text:" in checks[-2]["fq"][-1]
    core = solr.url.rsplit("/", 1)[1]
    pgsolr_server.app.searcher._broad.add(core)
    for extra in checks:
        _search(solr, extra)                   # builds the sets
    assert docset_calls and all(docset_calls)
    for round_ in range(8):
        kind = round_ % 4
        if kind == 0:      # new datasets
            solr.add([_doc(1000 + round_ * 3 + k, rnd) for k in range(3)])
        elif kind == 1:    # updates with other values (new facet values too)
            solr.add([make_doc(f"d{rnd.randint(0, 119)}", tags=[f"neu{round_}"],
                               organization=rnd.choice(ORGS + ["o9"]),
                               metadata_modified=f"2031-0{round_ % 9 + 1}-01T00:00:00Z")])
        elif kind == 2:    # delete by id
            solr.delete(id=f"idx-d{rnd.randint(0, 119)}")
        else:              # delete by query
            solr.delete(q=f"tags:{rnd.choice(TAGS)} AND num_resources:{rnd.randint(0, 3)}")
        for extra in checks:
            monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 10 ** 9)
            pgsolr_server.app.searcher._broad.clear()
            expected = _search(solr, extra)
            pgsolr_server.app.searcher._broad.add(core)
            assert _search(solr, extra) == expected, (round_, extra)
            assert docset_calls[-1] is True
        # a filter and a facet field the advanced sets have not seen yet
        fresh = {"fq": CKAN_FQ + [f"num_resources:{round_ % 4}"], "facet.field": ["groups", "tags"],
                 "sort": "title_string desc", "rows": 9}
        monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 10 ** 9)
        pgsolr_server.app.searcher._broad.clear()
        expected = _search(solr, fresh)
        pgsolr_server.app.searcher._broad.add(core)
        assert _search(solr, fresh) == expected, round_
    # the first query builds the sets; every write after that advanced them
    assert advanced and all(advanced), advanced
    assert len(advanced) == 8


def test_concurrent_writes_and_queries_stay_consistent(pgsolr_server: PgSolrServer,
                                                       solr: pysolr.Solr,
                                                       monkeypatch: pytest.MonkeyPatch,
                                                       docset_calls: list[bool]) -> None:
    """Writers and readers at the same time: every answer from the sets is
    consistent within its own snapshot (count = documents = facet sum, in
    order), and the final state equals the SQL path."""
    import threading
    monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 1)
    rnd = random.Random(9)
    solr.add([make_doc(f"d{i}", organization=rnd.choice(ORGS),
                       metadata_modified=f"2024-01-{i % 28 + 1:02d}T00:00:00Z") for i in range(80)])
    params = {"fq": CKAN_FQ, "facet": "true", "facet.field": "organization", "facet.limit": -1,
              "sort": "metadata_modified desc", "rows": 1000, "fl": "id,metadata_modified"}
    solr.search("*:*", **params)
    errors: list[BaseException] = []
    stop = threading.Event()

    def writer(seed: int) -> None:
        w = random.Random(seed)
        client = pysolr.Solr(solr.url, always_commit=True)
        try:
            for k in range(25):
                i = w.randint(0, 119)
                if w.random() < 0.25:
                    client.delete(id=f"idx-d{i}")
                else:
                    client.add([make_doc(f"d{i}", organization=w.choice(ORGS),
                                         metadata_modified=f"2025-02-{k % 28 + 1:02d}T00:00:00Z")])
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    def reader() -> None:
        client = pysolr.Solr(solr.url)
        try:
            while not stop.is_set():
                res = client.search("*:*", **params)
                counts = res.facets["facet_fields"]["organization"][1::2]
                assert res.hits == len(res.docs) == sum(counts)
                dates = [d["metadata_modified"] for d in res.docs]
                assert dates == sorted(dates, reverse=True)
        except BaseException as error:  # noqa: BLE001 - reported by the test
            errors.append(error)

    threads = [threading.Thread(target=writer, args=(s,)) for s in (1, 2)]
    readers = [threading.Thread(target=reader) for _ in range(2)]
    for t in threads + readers:
        t.start()
    for t in threads:
        t.join()
    stop.set()
    for t in readers:
        t.join()
    assert not errors, errors[:3]
    assert docset_calls.count(True) >= 10          # the readers were answered from the sets
    got = solr.search("*:*", **params)
    monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 10 ** 9)
    pgsolr_server.app.searcher._broad.clear()
    expected = solr.search("*:*", **params)
    assert got.raw_response["response"] == expected.raw_response["response"]
    assert got.facets == expected.facets


def test_cores_above_the_size_limit_use_the_sql_path(pgsolr_server: PgSolrServer,
                                                     solr: pysolr.Solr,
                                                     monkeypatch: pytest.MonkeyPatch,
                                                     docset_calls: list[bool]) -> None:
    """The sets take memory per document: a core that grows past the limit
    is answered in SQL again, with the same results."""
    monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 1)
    monkeypatch.setattr(search, "DOCSETS_MAX_DOCS", 20)
    core = solr.url.rsplit("/", 1)[1]
    params = {"fq": CKAN_FQ, "sort": "name asc", "rows": 100, "fl": "id"}
    solr.add([make_doc(f"d{i:02d}") for i in range(15)])
    solr.search("*:*", **params)
    assert solr.search("*:*", **params).hits == 15 and docset_calls == [True]
    solr.add([make_doc(f"e{i:02d}") for i in range(10)])          # 25 documents now
    res = solr.search("*:*", **params)
    assert docset_calls == [True, False] and core not in pgsolr_server.app.searcher._broad
    assert [d["id"] for d in res.docs] == [f"d{i:02d}" for i in range(15)] + \
        [f"e{i:02d}" for i in range(10)]
    solr.search("*:*", **params)
    assert docset_calls == [True, False]          # not tried again


def test_docsets_limits_on_the_command_line(pgsolr_dsn: str) -> None:
    """pgsolr serve --docsets-max-docs 0 answers every query in SQL;
    --docsets-min-matches 1 uses the sets from the first matching query on.
    /solr/admin/cores shows how the selects were answered."""
    from pgsolr import cli
    from pgsolr.server import create_server
    for flag in ("--docsets-max-docs", "--docsets-min-matches"):
        with pytest.raises(SystemExit):
            cli.main(["serve", "--dsn", pgsolr_dsn, flag, "-1"])
    for options, expected_sets in (({"docsets_max_docs": 0}, 0), ({"docsets_min_matches": 1}, 2)):
        server = create_server(pgsolr_dsn, "127.0.0.1", 0, **options).start()
        try:
            client = pysolr.Solr(f"{server.url}/lim_{random.randrange(10 ** 9)}",
                                 always_commit=True)
            client.add([make_doc(f"d{i}") for i in range(5)])
            for _ in range(3):
                assert client.search("*:*", fq=CKAN_FQ).hits == 5
            answered = requests.get(f"{server.url}/admin/cores", timeout=10).json()
            assert answered["pgsolr"]["selects answered"] == {
                "sql": 3 - expected_sets, "document sets": expected_sets}, options
            client.delete(q="*:*")
        finally:
            server.stop()


def test_private_documents_stay_out_of_the_sets_answers(pgsolr_server: PgSolrServer,
                                                        solr: pysolr.Solr,
                                                        monkeypatch: pytest.MonkeyPatch,
                                                        docset_calls: list[bool]) -> None:
    """CKAN's permission_labels filter holds on the document-set path: an
    anonymous user's query never returns, counts or facets another
    organization's private datasets."""
    monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 1)
    solr.add([make_doc(f"p{i}", permission_labels=["member-secret"], tags=["geheim"])
              for i in range(5)] + [make_doc(f"o{i}", tags=["offen"]) for i in range(20)])
    anonymous = {"fq": ["+dataset_type:dataset", '+site_id:"site-a"', "+state:active",
                        '+permission_labels:("public")'],
                 "facet": "true", "facet.field": "tags", "facet.mincount": 1,  # as CKAN sends
                 "rows": 100, "fl": "id"}
    solr.search("*:*", **anonymous)
    res = solr.search("*:*", **anonymous)
    assert docset_calls[-1] is True
    assert res.hits == 20 and not [d for d in res.docs if d["id"].startswith("p")]
    assert res.facets["facet_fields"]["tags"] == ["offen", 20]
    member = dict(anonymous, fq=anonymous["fq"][:3] + ['+permission_labels:("public" OR "member-secret")'])
    assert solr.search("*:*", **member).hits == 25


WORDS = ["Daten", "Stadt", "Bäume", "Parkplätze", "Gelsenkirchen", "offen", "Karte", "Schulen"]
TEXT_QUERIES: list[dict[str, Any]] = [
    {"q": "Daten Stadt", "defType": "dismax"},
    {"q": "Daten Stadt", "defType": "edismax", "fl": "id,score", "rows": 30, "start": 12},
    {"q": "Daten Stadt Karte", "defType": "dismax", "mm": "1", "tie": "0.3",
     "fl": "id,score", "rows": 25},
    {"q": "Gelsenkirchen", "defType": "edismax", "fl": "*,score",
     "sort": "score asc, metadata_modified desc", "rows": 40},
    {"q": "Bäume", "defType": "dismax", "fl": "id,score", "sort": "score desc, title_string asc",
     "rows": 0},
    {"q": "Schul* offen", "defType": "edismax", "fl": "id,score", "rows": 15, "start": 3},
    {"q": "title:daten OR tags:a", "fl": "id,score", "rows": 20},
    {"q": "Stadt", "defType": "dismax", "sort": "metadata_modified desc", "rows": 10},
]


def _text_doc(i: int, rnd: random.Random) -> dict[str, Any]:
    doc = _doc(i, rnd)
    doc["title"] = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(1, 4)))
    doc["notes"] = " ".join(rnd.choice(WORDS) for _ in range(rnd.randint(0, 12)))
    return doc


def _text_search(solr: pysolr.Solr, extra: dict[str, Any]) -> Any:
    params: dict[str, Any] = {"fq": CKAN_FQ, "facet": "true", "facet.field": FACETS,
                              "facet.limit": 50, "facet.mincount": 1, "q.op": "AND",
                              "qf": "name^4 title^4 tags^2 groups^2 text",
                              "sort": "score desc, metadata_modified desc", **extra}
    res = solr.search(params.pop("q"), **params)
    return res.hits, res.raw_response["response"], res.raw_response["facet_counts"]


def test_free_text_scores_from_term_classes(pgsolr_server: PgSolrServer, solr: pysolr.Solr,
                                            monkeypatch: pytest.MonkeyPatch,
                                            docset_calls: list[bool]) -> None:
    """Free text ranked from the cached ts_rank classes (pgsolr/ranks.py):
    the same hits, order, scores and facets as the SQL path, also after
    writes advanced the classes."""
    rnd = random.Random(23)
    solr.add([_text_doc(i, rnd) for i in range(160)])
    core = solr.url.rsplit("/", 1)[1]
    searcher = pgsolr_server.app.searcher
    for round_ in range(4):
        for extra in TEXT_QUERIES:
            monkeypatch.setattr(search, "DOCSETS_MIN_MATCHES", 10 ** 9)
            searcher._broad.clear()
            before = len(docset_calls)
            expected = _text_search(solr, extra)
            assert len(docset_calls) == before and expected[0] > 0, extra
            searcher._broad.add(core)
            assert _text_search(solr, extra) == expected, (round_, extra)
            assert docset_calls[before:] == [True], extra
            assert _text_search(solr, extra) == expected, (round_, extra)   # cached classes
        # new, changed and removed documents: the classes are advanced
        solr.add([_text_doc(500 + round_ * 3 + k, rnd) for k in range(3)])
        solr.add([_text_doc(rnd.randint(0, 159), rnd)])
        solr.delete(id=f"idx-d{rnd.randint(0, 159)}")


def test_scores_of_other_terms_use_the_sql_path(pgsolr_server: PgSolrServer, solr: pysolr.Solr,
                                                docset_calls: list[bool]) -> None:
    """Phrases (an AND of positions ranks non-matches 1e-20) and boost
    functions are scored in SQL."""
    rnd = random.Random(3)
    solr.add([_text_doc(i, rnd) for i in range(50)])
    pgsolr_server.app.searcher._broad.add(solr.url.rsplit("/", 1)[1])
    _text_search(solr, {"q": '"Daten Stadt"', "defType": "edismax"})
    assert docset_calls == []
    _text_search(solr, {"q": "Daten", "defType": "edismax", "bf": "maxx"})
    assert docset_calls == []
    _text_search(solr, {"q": "Daten", "defType": "edismax"})
    assert docset_calls == [True]
