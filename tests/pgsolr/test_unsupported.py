"""What pgsolr cannot answer is a 400 naming it, never a 200 with no hits.

The case that was silently wrong: ckanext-spatial's solr-spatial-field backend
(geometries in the location_rpt field spatial_geom, queried with
``{!field f=spatial_geom}Intersects(ENVELOPE(...))``) got 200 and zero hits.
"""
from __future__ import annotations

import pysolr
import pytest
import requests

from .conftest import make_doc

POLYGON = "POLYGON ((7.0 51.5, 7.1 51.5, 7.1 51.6, 7.0 51.6, 7.0 51.5))"
INTERSECTS = "{!field f=spatial_geom}Intersects(ENVELOPE(6.9, 7.2, 51.7, 51.4))"


def _select(core_url: str, **params: object) -> requests.Response:
    return requests.get(core_url + "/select", params=params, timeout=10)  # type: ignore[arg-type]


def _refused(r: requests.Response, *named: str) -> str:
    assert r.status_code == 400, r.text
    msg = r.json()["error"]["msg"]
    assert "pgsolr does not support" in msg and all(n in msg for n in named), msg
    return msg


def test_geometries_are_stored_but_spatial_queries_refused(solr: pysolr.Solr,
                                                            core_url: str) -> None:
    # indexing a dataset of the solr-spatial-field backend works...
    solr.add([make_doc("park", spatial_geom=[POLYGON])])
    assert _select(core_url, q="*:*", fl="id,spatial_geom").json()["response"]["docs"] == [
        {"id": "park", "spatial_geom": [POLYGON]}]
    # ...but every way of searching the geometry field is refused, naming it
    msg = _refused(_select(core_url, q="*:*", fq=INTERSECTS), "spatial_geom",
                   "SpatialRecursivePrefixTreeFieldType")
    assert "Apache Solr" in msg and "solr-bbox" in msg
    for params in ({"q": 'spatial_geom:"Intersects(ENVELOPE(6.9, 7.2, 51.7, 51.4))"'},
                   {"q": "spatial_geom:*"},
                   {"q": "*:*", "sort": "spatial_geom asc"},
                   {"q": "*:*", "facet": "true", "facet.field": "spatial_geom"},
                   {"q": "*:*", "fq": "{!frange l=0}spatial_geom"},
                   {"q": "park", "defType": "edismax", "qf": "title spatial_geom"}):
        _refused(_select(core_url, **params), "spatial_geom")


@pytest.mark.parametrize(("fq", "named"), [
    ("{!frange l=0 u=1 foo=bar}bbox_area", "'foo' of the frange"),
    ("{!bool must=title:x mm=1}", "'mm' of the bool"),
    ("{!field f=title op=Intersects}x", "'op' of the field"),
    ("{!dismax qf=title bf=bbox_area}x", "'bf' of the dismax"),
    ("{!geofilt sfield=spatial_geom pt=51.5,7.0 d=5}", "geofilt query parser"),
    ("{!collapse field=organization}", "collapse query parser"),
    ("{!join from=id to=id}title:x", "join query parser"),
])
def test_local_params_and_parsers_pgsolr_lacks(core_url: str, fq: str, named: str) -> None:
    _refused(_select(core_url, q="*:*", fq=fq), named)


def test_local_params_that_change_no_result_are_accepted(solr: pysolr.Solr,
                                                         core_url: str) -> None:
    solr.add([make_doc("a", title="Wasser", bbox_area=1.0)])
    for fq in ("{!tag=t1 cache=false}title:wasser", "{!frange l=0 cost=200 cache=false}bbox_area",
               "{!lucene q.op=OR df=title}wasser nix"):
        r = _select(core_url, q="*:*", fq=fq)
        assert r.status_code == 200 and r.json()["response"]["numFound"] == 1, (fq, r.text)


@pytest.mark.parametrize(("params", "named"), [
    ({"hl": "true", "hl.fl": "title"}, "'hl'"), ({"group": "true", "group.field": "tags"}, "'group'"),
    ({"stats": "true", "stats.field": "bbox_area"}, "'stats'"), ({"spellcheck": "on"}, "'spellcheck'"),
    ({"facet": "true", "facet.range": "metadata_modified"}, "'facet.range'"),
    ({"facet": "true", "facet.pivot": "organization,tags"}, "'facet.pivot'"),
    ({"json.facet": '{"x":{"type":"terms","field":"tags"}}'}, "'json.facet'"),
])
def test_components_pgsolr_lacks(core_url: str, params: dict[str, str], named: str) -> None:
    _refused(_select(core_url, q="*:*", **params), named)
