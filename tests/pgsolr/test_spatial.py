"""ckanext-spatial solr-bbox: {!frange} filter and bf overlap ordering."""
from __future__ import annotations

import pysolr

from .conftest import make_doc


def _bbox_doc(uid: str, minx: float, miny: float, maxx: float, maxy: float) -> dict:
    return make_doc(uid, minx=minx, miny=miny, maxx=maxx, maxy=maxy,
                    bbox_area=(maxx - minx) * (maxy - miny))


def _params(minx: float, miny: float, maxx: float, maxy: float) -> dict:
    # built exactly like ckanext.spatial.search.SolrBBoxSearchBackend
    area = abs(maxx - minx) * abs(maxy - miny)
    bf = (f"div(mul(mul(max(0,sub(min({maxx},maxx),max({minx},minx))),"
          f"max(0,sub(min({maxy},maxy),max({miny},miny)))),2),"
          f"add({area},mul(sub(maxy,miny),sub(maxx,minx))))")
    return {"fq": ["{!frange incl=false l=0 u=1}" + bf], "bf": bf, "defType": "edismax",
            "qf": "name^4 title^4 tags^2 groups^2 text", "mm": "2<-1 5<80%", "tie": "0.1",
            "sort": "score desc, metadata_modified desc", "fl": "id,score"}


def test_frange_filter_and_bf_order(solr: pysolr.Solr) -> None:
    solr.add([
        _bbox_doc("exact", 7.0, 51.4, 7.1, 51.5),        # same box as the query
        _bbox_doc("partial", 7.05, 51.45, 7.2, 51.6),    # overlaps partly
        _bbox_doc("huge", 5.0, 50.0, 9.0, 53.0),          # contains it, low ratio
        _bbox_doc("far", 13.0, 52.0, 13.5, 52.5),         # Berlin: no overlap
        make_doc("nogeo"),                                 # no extent at all
    ])
    res = solr.search("*:*", **_params(7.0, 51.4, 7.1, 51.5))
    assert [d["id"] for d in res.docs] == ["exact", "partial", "huge"]
    assert res.hits == 3
    scores = [d["score"] for d in res.docs]
    assert scores == sorted(scores, reverse=True)


def test_functions_in_frange(solr: pysolr.Solr) -> None:
    solr.add([_bbox_doc("a", 0, 0, 1, 1), _bbox_doc("b", 0, 0, 3, 2)])
    res = solr.search("*:*", fq="{!frange l=5 u=7}mul(bbox_area,abs(sub(0,1)))")
    assert [d["id"] for d in res.docs] == ["b"]
    res = solr.search("*:*", fq="{!frange l=0.5 u=1.5 incu=false}add(div(maxx,2),0)")
    assert [d["id"] for d in res.docs] == ["a"]
    res = solr.search("*:*", fq="{!frange l=2}max(maxx,min(maxy,5))")
    assert [d["id"] for d in res.docs] == ["b"]
