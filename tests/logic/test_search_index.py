"""Dates in the search index, on every backend (pgsolr, Solr, SolrCloud).

CKAN 2.12.0 writes a ``*_date`` value that carries a time zone as
dateutil's ``isoformat()`` (``2019-10-10T01:15:00+00:00``). Solr refuses
the whole dataset for it (HTTP 400 "Invalid Date String"), and so does
pgsolr, which refuses the same dates as Solr; CKAN's own
``test_index_date_field`` therefore fails on both (conformance-skips.txt).
With this extension loaded the same dataset is indexed: the plugin writes
such values in UTC with Solr's ``Z``.
"""
from __future__ import annotations

import datetime

import ckan.lib.search as search
import pysolr
import pytest
from ckan.common import config

from ckanext.gelsenkirchen.logic.search import utc_dates

NOW = datetime.datetime.now().isoformat()
BASE = {"id": "mit-zeitzone", "name": "mit-zeitzone", "title": "Mit Zeitzone", "state": "active",
        "private": False, "type": "dataset", "owner_org": None,
        "metadata_created": NOW, "metadata_modified": NOW}


def test_utc_dates_rewrites_only_dates_with_an_offset():
    got = utc_dates({"a_date": "2019-10-10T03:15:00+02:00", "b_date": "2019-10-10T01:15:00Z",
                     "c_date": "2014-03-22T05:42:14.250000+00:00", "d_date": "kein Datum",
                     "e_date": "2014-03-22T05:42:14", "title": "2019-10-10T03:15:00+02:00"})
    assert got == {"a_date": "2019-10-10T01:15:00Z", "b_date": "2019-10-10T01:15:00Z",
                   "c_date": "2014-03-22T05:42:14.250000Z", "d_date": "kein Datum",
                   "e_date": "2014-03-22T05:42:14", "title": "2019-10-10T03:15:00+02:00"}


@pytest.mark.usefixtures("with_plugins", "clean_index")
def test_dates_with_a_time_zone_are_indexed_in_utc():
    """CKAN's test_index_date_field with the plugin loaded, plus an offset
    other than UTC: every backend indexes the dataset."""
    pkg = dict(BASE, extras=[
        {"key": "test_date", "value": "2014-03-22"},
        {"key": "test_tim_date", "value": "2014-03-22 05:42:14"},
        {"key": "test_full_iso_date", "value": "2019-10-10T01:15:00Z"},
        {"key": "test_berlin_date", "value": "2019-10-10T03:15:00+02:00"},
    ])
    pkg["with_custom_schema"] = dict(pkg)
    search.PackageSearchIndex().index_package(pkg)

    docs = search.make_connection().search(
        q="name:mit-zeitzone", fq=f'+site_id:"{config["ckan.site_id"]}"').docs
    assert len(docs) == 1
    got = {key: docs[0][key].strftime("%Y-%m-%d %H:%M:%S") for key in
           ("test_date", "test_tim_date", "test_full_iso_date", "test_berlin_date")}
    assert got == {"test_date": "2014-03-22 00:00:00", "test_tim_date": "2014-03-22 05:42:14",
                   "test_full_iso_date": "2019-10-10 01:15:00",
                   "test_berlin_date": "2019-10-10 01:15:00"}


@pytest.mark.usefixtures("clean_index")
def test_the_search_service_refuses_a_date_with_an_offset():
    """What the plugin works around, on whichever backend runs the suite:
    Solr and pgsolr alike answer 400 for a date with an offset."""
    doc = {"id": "offset", "index_id": "offset", "site_id": config["ckan.site_id"],
           "entity_type": "package", "name": "offset", "test_x_date": "2019-10-10T01:15:00+00:00"}
    with pytest.raises(pysolr.SolrError, match="Invalid Date String"):
        search.make_connection().add([doc], commit=True)
