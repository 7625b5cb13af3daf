"""ckanext-spatial's solr-spatial-field backend: geometries, not bounding boxes.

The backend indexes each dataset's GeoJSON as WKT into spatial_geom (a
location_rpt field of pgsolr/schema-addition.xml) and filters with
``{!field f=spatial_geom}Intersects(ENVELOPE(...))``. Apache Solr answers it
with the real polygon (JTS, from solr/pom.xml). pgsolr cannot: it answers 400
naming itself, so the portal shows a search error instead of "no datasets"
(docs/pgsolr.md).
"""
from __future__ import annotations

import json

import pytest
from ckan.lib.search.common import SearchError

from tests.logic.data import (  # noqa: F401 (fixtures)
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)
from tests.search_backend import on_apache_solr

# a right triangle inside the city: its bounding box is 7.03-7.13 x 51.52-51.60,
# the polygon only the part below the line from (7.13, 51.52) to (7.03, 51.60)
TRIANGLE = {"type": "Polygon",
            "coordinates": [[[7.03, 51.52], [7.13, 51.52], [7.03, 51.60], [7.03, 51.52]]]}
INSIDE = "7.04,51.525,7.06,51.54"             # inside the triangle
IN_BOX_NOT_POLYGON = "7.11,51.585,7.125,51.595"  # inside its box, outside the triangle
FAR = "9.9,53.5,10.1,53.6"

pytestmark = [
    pytest.mark.usefixtures("with_plugins"),
    pytest.mark.ckan_config("ckanext.spatial.search_backend", "solr-spatial-field"),
    # what ckanext-spatial's update_config adds for this backend at start-up
    pytest.mark.ckan_config("ckan.search.solr_allowed_query_parsers", ["frange", "field"]),
]


def _search(user, bbox: str) -> list[str]:
    found = call_as(user, "package_search", extras={"ext_bbox": bbox})
    return [d["name"] for d in found["results"]]


def test_polygon_search(sysadmin, organization) -> None:
    created = call_as(sysadmin, "package_create", **dataset_dict(
        owner_org=organization["id"], spatial_coverage=None, spatial=json.dumps(TRIANGLE)))
    if not on_apache_solr():
        # pgsolr: a 400 naming the field and the backend to use, which CKAN
        # raises as a search error; never an empty result
        with pytest.raises(SearchError, match="pgsolr does not support searching field "
                           "spatial_geom.*Apache Solr"):
            _search(sysadmin, INSIDE)
        return
    assert _search(sysadmin, INSIDE) == [created["name"]]
    # the geometry decides, not its bounding box (solr-bbox would find it)
    assert _search(sysadmin, IN_BOX_NOT_POLYGON) == []
    assert _search(sysadmin, FAR) == []
