"""The source toolkit (harvesters/source/): one rule for each question both
harvesters ask of a source. Pure: no database, no network."""
from __future__ import annotations

import json

import pytest

from ckanext.gelsenkirchen.harvesters import broadband, wifi
from ckanext.gelsenkirchen.harvesters.http import FetchError
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs, esri, formats, paging
from ckanext.gelsenkirchen.harvesters.source.jsondoc import feature_id
from ckanext.gelsenkirchen.harvesters.source.numbers import (
    choose_decimal,
    detect_decimal,
    parse_number,
)
from ckanext.gelsenkirchen.harvesters.source.text import fold, read_csv

from .paging_support import pages_of

# ---------------------------------------------------------------- numbers


@pytest.mark.parametrize("rule, expected", [("comma", 1234.0), ("point", 1.234)])
def test_one_point_two_three_four_under_each_decimal_rule(rule, expected):
    assert parse_number("1.234", rule) == expected


@pytest.mark.parametrize("raw, expected", [
    (93.5, 93.5), ("93,5", 93.5), ("93,5 %", 93.5), ("1.234", 1234.0), ("1.234,5", 1234.5),
    ("", None), ("-", None), (None, None), ("k.A.", None), ("361234,56", 361234.56),
    (" 51,5 ", 51.5), ("1 234,5", 1234.5), ("-3", -3.0), (7, 7.0)])
def test_numbers_in_german_notation(raw, expected):
    assert parse_number(raw, "comma") == expected


@pytest.mark.parametrize("raw, expected", [
    ("7.0913", 7.0913), ("1,234.5", 1234.5), ("1,234", 1234.0), ("-3", -3.0), ("", None),
    (None, None), (7, 7.0), (float("nan"), None)])
def test_numbers_in_english_notation(raw, expected):
    assert parse_number(raw, "point") == expected


@pytest.mark.parametrize("text", ["abc", "1,2,3x", "12..5", "NaN", "inf", "7°E", "viel", True])
@pytest.mark.parametrize("rule", ["comma", "point"])
def test_unparseable_numbers(text, rule):
    with pytest.raises(ValueError):
        parse_number(text, rule)


def test_a_number_in_the_other_notation_is_not_a_number():
    with pytest.raises(ValueError):
        parse_number("7.0913", "comma")
    with pytest.raises(ValueError):
        parse_number("93,5", "point")


def test_the_decimal_rule_is_configured_detected_or_the_default():
    assert detect_decimal(["93,5", "1.200", "42", 7.5]) == ("comma", 1)
    assert detect_decimal(["51.5912", "7.0521", "1.234"]) == ("point", 2)
    assert detect_decimal(["1.234", "42", 3.5]) == (None, 0)
    assert choose_decimal("comma", ["7.09"]) == ("comma", "comma (configured)")
    assert choose_decimal(None, ["93,5", "61,0"]) == ("comma", "comma (detected from 2 values)")
    rule, how = choose_decimal(None, ["1.234"])
    assert rule == "point" and how.startswith("point (default")


# ---------------------------------------------------------------- text

def test_column_names_are_folded():
    assert fold("Länge (WGS84)") == "laenge_wgs84"
    assert fold("\ufeffDOWN_FN_HH_ALLE_50") == "down_fn_hh_alle_50"
    assert fold("Krankenhäuser Glasfaser") == "krankenhaeuser_glasfaser"


def test_csv_table_rows_with_another_field_count_are_reported():
    table = read_csv("a;b;c\n1;2;3\n\n4;5\n6;7;8\n".encode("cp1252"))
    assert table.delimiter == ";" and table.header == ["a", "b", "c"]
    assert table.rows == [(2, ["1", "2", "3"]), (5, ["6", "7", "8"])]
    assert table.misfits == [(4, 2)]


# ---------------------------------------------------------------- formats

@pytest.mark.parametrize("url, data, expected", [
    ("https://x/a.geojson", None, "geojson"), ("https://x/a.gpkg", None, "gpkg"),
    ("https://x/FeatureServer/0", None, "arcgis"), ("https://x/wfs?SERVICE=WFS", None, "wfs"),
    ("https://x/collections/bb/items", None, "ogcapi"), ("https://x/data", b"SQLite format 3\x00",
                                                         "gpkg"),
    ("https://x/data", b"PK\x03\x04", "xlsx"), ("https://x/data", b' {"type"', "geojson"),
    ("https://x/data", b"a;b", "csv"), ("https://x/a", b' {"nodes": []}', "meshviewer"),
    ("https://x/feed.json", b'{"nodes": []}', "meshviewer"), ("https://x/data", None, None),
])
def test_format_detection(url, data, expected):
    assert formats.detect_format(url, data) == expected


@pytest.mark.parametrize("url", [
    "https://x/geoserver/ows?service=WFS&version=2.0.0&typeNames=a",
    "https://x/geoserver/wfs?request=GetFeature&typeNames=a",
    "https://x/geoserver/wfs?SERVICE=wfs&REQUEST=GETFEATURE&typeNames=a"])
def test_one_wfs_rule_for_both_harvesters(url):
    """A query parameter service=WFS or request=GetFeature: the WiFi
    harvester knew only the second, the broadband harvester only the first."""
    assert formats.detect_format(url) == "wfs"
    assert "wfs" in wifi.WifiHotspotHarvester.formats
    assert "wfs" in broadband.BroadbandCoverageHarvester.formats


def test_not_a_wfs_or_a_service():
    assert formats.service_format("https://x/api/query?name=wfs") is None
    assert formats.service_format("https://x/ogc/items") is None


# ---------------------------------------------------------------- paging: one stop rule

def _wfs_server(total: int, cap: int, number_matched: bool = True):
    """A WFS that answers at most ``cap`` features a page (servers cap count)."""
    def answer(url: str) -> dict:
        params = dict(p.split("=") for p in url.split("?")[1].split("&"))
        start, count = int(params["startIndex"]), int(params["count"])
        features = [{"type": "Feature", "id": i, "geometry": None, "properties": {}}
                    for i in range(start, min(total, start + min(count, cap)))]
        doc = {"type": "FeatureCollection", "features": features}
        if number_matched:
            doc["numberMatched"] = total
        return doc
    return answer


def test_wfs_with_number_matched_reads_on_after_a_short_page():
    """The server caps pages at 2 though 3 were asked for: numberMatched says
    there is more, so the short page is not the last one."""
    docs, calls = pages_of("wfs", "https://x/wfs?service=WFS&typeNames=a", _wfs_server(5, 2),
                           paging.PagingOptions(page_size=3))
    assert sum(len(d["features"]) for d in docs) == 5
    assert [c.split("startIndex=")[1].split("&")[0] for c in calls] == ["0", "2", "4"]
    assert all("outputFormat=application%2Fjson" in c for c in calls)


def test_wfs_without_number_matched_ends_at_a_short_page():
    docs, _ = pages_of("wfs", "https://x/wfs?service=WFS&typeNames=a&maxFeatures=9",
                       _wfs_server(5, 2, number_matched=False), paging.PagingOptions(page_size=2))
    assert sum(len(d["features"]) for d in docs) == 5 and len(docs) == 3


def test_an_empty_page_ends_the_paging():
    page = {"type": "FeatureCollection", "features": [], "exceededTransferLimit": True,
            "links": [{"rel": "next", "href": "https://x/items?page=2"}]}
    for fmt, url in (("ogcapi", "https://x/collections/a/items"),
                     ("arcgis", "https://x/FeatureServer/0")):
        docs, calls = pages_of(fmt, url, lambda _url: page, paging.PagingOptions())
        assert len(docs) == 1 and len(calls) == 1


def test_more_pages_than_the_limit_are_an_error_not_a_cut_snapshot():
    with pytest.raises(FetchError, match="more than page_limit=2 pages"):
        pages_of("wfs", "https://x/wfs?service=WFS", _wfs_server(10, 2),
                 paging.PagingOptions(page_size=2, page_limit=2))


def test_an_unreadable_page_is_an_error_naming_it():
    def answer(url: str) -> dict:
        if "startIndex=0" in url:
            return _wfs_server(4, 2)(url)
        return {"type": "Topology"}
    with pytest.raises(ParseError, match=r"page 2: not a GeoJSON FeatureCollection"):
        pages_of("wfs", "https://x/wfs?service=WFS", answer, paging.PagingOptions(page_size=2))


# ---------------------------------------------------------------- CRS

@pytest.mark.parametrize("name", ["EPSG:25832", "25832", "urn:ogc:def:crs:EPSG::25832",
                                  "http://www.opengis.net/def/crs/EPSG/0/25832"])
def test_crs_names(name):
    assert crs.normalize_crs(name) == "EPSG:25832"


def test_crs84_is_wgs84_and_unknown_names_are_errors():
    assert crs.normalize_crs("urn:ogc:def:crs:OGC:1.3:CRS84") == crs.WGS84
    assert crs.transformer_to_wgs84(crs.WGS84) is None
    assert crs.esri_crs({"wkid": 102100}) == "EPSG:3857"
    with pytest.raises(ValueError, match="unknown CRS"):
        crs.normalize_crs("EPSG:999999")


@pytest.mark.parametrize("name", [
    "+proj=longlat +nadgrids=/dev/zero", "+init=epsg:25832", "proj=utm +zone=32",
    '{"type": "GeographicCRS"}', 'GEOGCRS["x",PARAMETERFILE["g","/etc/passwd"]]',
    "[" * 40 + "]" * 40, "EPSG:" + "9" * 5000, ["EPSG:25832"], {"name": "EPSG:25832"},
])
def test_crs_names_that_are_not_codes_or_wkt_are_refused_before_proj_reads_them(name):
    """Issue 12, finding 7: PROJ strings made PROJ read files (ProjError
    escaped the parser); every refusal is a ValueError with a short message."""
    with pytest.raises(ValueError) as error:
        crs.transformer_to_wgs84(name)
    assert len(str(error.value)) < 400


@pytest.mark.parametrize("reference", [[1], "x", {"wkid": "abc"}, {"wkid": 10**30},
                                       {"wkid": True}])
def test_an_unreadable_esri_spatial_reference_is_a_parse_error(reference):
    with pytest.raises(ParseError, match="spatialReference"):
        esri.to_feature_collection({"features": [], "spatialReference": reference})


@pytest.mark.parametrize("value", [10**400, "1e999", "-1e999", float("inf")])
def test_numbers_beyond_a_floats_range_are_not_numbers(value):
    with pytest.raises(ValueError):
        parse_number(value, "point")


# ---------------------------------------------------------------- identity

def test_a_feature_falls_back_to_its_own_id():
    assert feature_id("GE-1", "x.17") == "GE-1"
    assert feature_id(None, "x.17") == "x.17"
    assert feature_id("  ", 17) == 17
    assert feature_id("", None) is None


def test_esri_json_features_get_the_object_id_as_their_own_id():
    doc = esri.to_feature_collection({
        "objectIdFieldName": "OBJECTID", "spatialReference": {"latestWkid": 25832},
        "features": [{"attributes": {"OBJECTID": 7, "NAME": "Buer"},
                      "geometry": {"x": 367000, "y": 5715000}}]})
    feature, = doc["features"]
    assert feature["id"] == 7 and feature["properties"]["NAME"] == "Buer"
    assert feature["geometry"] == {"type": "Point", "coordinates": [367000, 5715000]}
    assert doc["crs"]["properties"]["name"] == "EPSG:25832"
    unique = esri.to_feature_collection({"uniqueIdField": {"name": "FID"},
                                         "features": [{"attributes": {"fid": 3}}]})
    assert unique["features"][0]["id"] == 3


# ---------------------------------------------------------------- WFS answers

def test_format_detection_and_paging_helpers():
    assert formats.detect_format("https://x/wfs?SERVICE=WFS&REQUEST=GetFeature", b"{}") == "wfs"
    assert formats.detect_format("https://x/collections/wlan/items?f=json", b"{}") == "ogcapi"
    assert formats.detect_format("https://x/a", b' {"nodes": []}') == "meshviewer"
    assert formats.detect_format("https://x/a", b'{"type": "FeatureCollection"}') == "geojson"
    assert formats.detect_format("https://x/a", b"ID;Name") == "csv"
    assert paging.ogc_next_link({"links": [{"rel": "next", "href": "p2", "type": "text/html"},
                                           {"rel": "next", "href": "p3"}]}) == "p3"
    assert paging.wfs_page_url("https://x/wfs?request=GetFeature&count=5&startIndex=9", 10, 2) \
        == "https://x/wfs?request=GetFeature&startIndex=10&count=2"


def test_wfs_exception_xml_is_parsed_safely():
    with pytest.raises(ParseError, match="the WFS answered with an exception: boom"):
        paging.check_wfs_exception(b"<ExceptionReport><Exception><ExceptionText>boom"
                                   b"</ExceptionText></Exception></ExceptionReport>")
    bomb = (b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY a "aaaa"><!ENTITY b "&a;&a;">]>'
            b"<x>&b;</x>")
    with pytest.raises(ParseError, match="could not be read safely"):
        paging.check_wfs_exception(bomb)


@pytest.mark.parametrize("ring", [[[], [1, 2], [3, 4], [5, 6]],
                                  [[10**400, 1], [1, 2], [3, 4.5], [10**400, 1]]])
def test_an_unreadable_esri_ring_is_a_skipped_row_not_an_exception(ring):
    """Found by make fuzz-parsers: a ring point [] raised ValueError (not
    enough values to unpack), a 400-digit coordinate OverflowError, out of
    the ArcGIS reader."""
    doc = esri.to_feature_collection({"features": [
        {"attributes": {"area_id": "a", "down_fn_hh_alle_50": 5}, "geometry": {"rings": [ring]}},
        {"attributes": {"area_id": "b", "down_fn_hh_alle_50": 5},
         "geometry": {"rings": [[[0, 0], [0, 1], [1, 1], [0, 0]]]}},
    ]})
    result = broadband.readers.collect_pages([doc], broadband.options.parse_options(
        {"reference_date": "2025-06"}))
    assert [r.area_id for r in result.records] == ["b"]
    skipped, = result.skipped
    assert skipped.feature_id == "a" and "unreadable esri geometry" in skipped.reason


@pytest.mark.parametrize("links", [True, 21761, 1.5, "next", [{"rel": "next", "href": 5}],
                                   [{"rel": "next", "href": "https://x/p2", "type": 7}]])
def test_ogc_links_that_are_not_a_list_of_link_objects_end_the_paging(links):
    """Found by make fuzz-parsers: "links": true raised TypeError out of the
    OGC API pager."""
    docs, calls = pages_of("ogcapi", "https://x/collections/c/items", lambda url: {
        "type": "FeatureCollection", "features": [], "links": links}, paging.PagingOptions())
    assert len(docs) == 1 and len(calls) == 1


def test_a_csv_of_delimiters_only_is_a_parse_error():
    """Found by make fuzz-parsers: StopIteration escaped read_csv."""
    with pytest.raises(ParseError, match="no header row"):
        read_csv(b";;\r\n\r\n;")


@pytest.mark.parametrize("bbox", [[10**400, 51, 7.2, 51.6], "1e999,51,7.2,51.6",
                                  [float("nan"), 51, 7.2, 51.6]])
def test_a_bbox_beyond_a_floats_range_is_refused_naming_the_key(bbox):
    """Found by make fuzz-parsers: OverflowError escaped the configuration
    check of "bbox"."""
    from ckanext.gelsenkirchen.harvesters.config import ConfigError
    with pytest.raises(ConfigError, match='"bbox": a bbox needs four'):
        wifi.harvester.WifiHotspotHarvester().load_config(json.dumps({"bbox": bbox}))
