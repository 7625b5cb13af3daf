"""Unit tests of the schema validators, code lists and areas (no database)."""
from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
import pytest
from ckan.lib.navl.dictization_functions import StopOnError, missing
from shapely.geometry import shape

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.logic import validators as val
from ckanext.gelsenkirchen.logic import vocabularies as v

CTX: dict = {}


def _run(validator, key, data):
    errors = {k: [] for k in data}
    errors.setdefault(key, [])
    try:
        validator(key, data, errors, CTX)
    except StopOnError:
        pass
    return errors[key]


# -- simple values --------------------------------------------------------------

@pytest.mark.parametrize("value", ["name@gelsenkirchen.de", "mailto:a.b-c@example.org"])
def test_email_accepts(value):
    assert val.gelsenkirchen_email(value, CTX) == value.removeprefix("mailto:")


@pytest.mark.parametrize("value", ["no-at-sign", "a@b", "a b@example.org", "@example.org"])
def test_email_rejects(value):
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_email(value, CTX)


@pytest.mark.parametrize("value", ["https://www.gelsenkirchen.de/x?y=1", "http://localhost:5000/"])
def test_url_accepts(value):
    assert val.gelsenkirchen_url(value, CTX) == value


@pytest.mark.parametrize("value", ["www.gelsenkirchen.de", "ftp://example.org/x", "https://",
                                   "https://exa mple.org", "javascript:alert(1)"])
def test_url_rejects(value):
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_url(value, CTX)


def test_dates():
    assert val.gelsenkirchen_date("2024-02-29", CTX) == "2024-02-29"
    assert val.gelsenkirchen_date("2024-02-29T10:00:00", CTX) == "2024-02-29T10:00:00"
    for bad in ("2024-02-30", "29.02.2024", "soon"):
        with pytest.raises(tk.Invalid):
            val.gelsenkirchen_date(bad, CTX)
    assert val.gelsenkirchen_datetime("2024-02-29", CTX) == "2024-02-29T00:00:00"


def test_temporal_end_before_start():
    data = {("temporal_end",): "2020-01-01", ("temporal_start",): "2021-01-01"}
    assert _run(val.gelsenkirchen_temporal_end, ("temporal_end",), data)
    data[("temporal_end",)] = "2021-01-01"
    assert not _run(val.gelsenkirchen_temporal_end, ("temporal_end",), data)
    data[("temporal_start",)] = missing
    assert not _run(val.gelsenkirchen_temporal_end, ("temporal_end",), data)


# -- licences ---------------------------------------------------------------------

def test_required_licences_are_offered():
    for code in ("dl-by-de/2.0", "dl-zero-de/2.0", "cc-by/4.0", "cc-zero", "officialWork"):
        assert v.LICENSES[code].iri == "http://dcat-ap.de/def/licenses/" + code


def test_license_by_code_or_iri():
    assert val.gelsenkirchen_license("dl-by-de/2.0", CTX) == "dl-by-de/2.0"
    assert val.gelsenkirchen_license("http://dcat-ap.de/def/licenses/cc-zero", CTX) == "cc-zero"
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_license("cc-by-nc", CTX)


@pytest.mark.parametrize("license_id,text,ok", [
    ("dl-by-de/2.0", "", False), ("cc-by/4.0", missing, False),
    ("dl-by-de/2.0", "Stadt Gelsenkirchen", True), ("dl-zero-de/2.0", "", True),
    ("officialWork", missing, True), ("cc-zero", "", True),
])
def test_attribution_required_for_by_licences(license_id, text, ok):
    data = {("license_id",): license_id, ("license_attribution_by_text",): text}
    errors = _run(val.gelsenkirchen_license_attribution, ("license_attribution_by_text",), data)
    assert (not errors) == ok


def test_contact_point_needs_email_or_url():
    key = ("contact_email",)
    assert _run(val.gelsenkirchen_contact_point, key, {key: "", ("contact_url",): missing})
    assert not _run(val.gelsenkirchen_contact_point, key,
                    {key: "", ("contact_url",): "https://x.example.org"})
    assert not _run(val.gelsenkirchen_contact_point, key, {key: "a@b.de", ("contact_url",): ""})


# -- controlled lists ---------------------------------------------------------------

def test_themes_store_iris_and_reject_unknown():
    key = ("theme",)
    data = {key: ["TRAN", "http://publications.europa.eu/resource/authority/data-theme/ENVI"]}
    assert not _run(val.gelsenkirchen_themes, key, data)
    assert json.loads(data[key]) == [v.THEMES["TRAN"].iri, v.THEMES["ENVI"].iri]
    assert _run(val.gelsenkirchen_themes, key, {key: ["TRAN", "PARKING"]})
    assert _run(val.gelsenkirchen_themes, key, {key: missing})  # at least one


def test_frequency_language_availability_hash_algorithm():
    assert val.gelsenkirchen_frequency("monthly", CTX) == v.FREQUENCIES["MONTHLY"].iri
    assert json.loads(val.gelsenkirchen_languages("DEU,ENG", CTX)) == [
        v.LANGUAGES["DEU"].iri, v.LANGUAGES["ENG"].iri]
    assert val.gelsenkirchen_availability("STABLE", CTX).endswith("planned-availability/STABLE")
    assert val.gelsenkirchen_hash_algorithm("md5", CTX) == "http://dcat-ap.de/def/hashAlgorithms/md/5"
    for validator in (val.gelsenkirchen_frequency, val.gelsenkirchen_languages,
                      val.gelsenkirchen_availability, val.gelsenkirchen_hash_algorithm,
                      val.gelsenkirchen_hvd_categories):
        with pytest.raises(tk.Invalid):
            validator("NONSENSE", CTX)


@pytest.mark.parametrize("value,code", [("csv", "CSV"), ("GeoJSON", "GEOJSON"), ("wms", "WMS_SRVC"),
                                        ("Shapefile", "SHP"),
                                        (v.FILE_TYPE_SCHEME + "/XLSX", "XLSX")])
def test_resource_format(value, code):
    assert val.gelsenkirchen_resource_format(value, CTX) == code


def test_resource_format_unknown():
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_resource_format("DOCX-ish", CTX)


def test_media_type_derived_from_format_and_checked():
    key = ("resources", 0, "mimetype")
    data = {key: "", ("resources", 0, "format"): "GEOJSON"}
    assert not _run(val.gelsenkirchen_media_type, key, data)
    assert data[key] == "application/geo+json"
    data = {key: "https://www.iana.org/assignments/media-types/text/csv"}
    assert not _run(val.gelsenkirchen_media_type, key, data)
    assert data[key] == "text/csv"
    assert _run(val.gelsenkirchen_media_type, key, {key: "csv please"})


# -- spatial ------------------------------------------------------------------------

def test_areas_are_the_official_list():
    bezirke = [a for a in geography.AREAS.values() if a.level == "stadtbezirk"]
    teile = [a for a in geography.AREAS.values() if a.level == "stadtteil"]
    assert len(bezirke) == 5 and len(teile) == 18
    assert geography.AREAS["stadtteil-bulmke-huellen"].parent == "bezirk-mitte"
    assert geography.AREAS["stadtteil-resser-mark"].parent == "bezirk-ost"
    assert geography.AREAS["stadtteil-ueckendorf"].de == "Stadtteil Ückendorf"
    assert {a.parent for a in teile} == {a.code for a in bezirke}


def test_spatial_coverage_codes():
    assert json.loads(val.gelsenkirchen_spatial_coverage(
        ["stadtteil-buer", "bezirk-sued", "stadtteil-buer"], CTX)) == [
        "bezirk-sued", "stadtteil-buer"]
    assert json.loads(val.gelsenkirchen_spatial_coverage(
        ["gesamtstadt", "bezirk-sued"], CTX)) == ["gesamtstadt"]
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_spatial_coverage(["stadtteil-atlantis"], CTX)


@pytest.mark.parametrize("value", [
    "not json", '{"type": "Feature"}', '{"type": "Polygon", "coordinates": [[1, 2]]}',
    # Hamburg: well-formed, but not in Gelsenkirchen
    '{"type": "Point", "coordinates": [9.99, 53.55]}',
    # self-intersecting polygon
    '{"type": "Polygon", "coordinates": [[[7.0,51.5],[7.1,51.6],[7.1,51.5],[7.0,51.6],[7.0,51.5]]]}',
])
def test_spatial_geojson_rejects(value):
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_spatial_geojson(value, CTX)


def test_spatial_geojson_accepts_point_in_city():
    value = '{"type": "Point", "coordinates": [7.1, 51.51]}'
    assert json.loads(val.gelsenkirchen_spatial_geojson(value, CTX))["type"] == "Point"


def _before(data):
    full = {("spatial_coverage",): missing, ("spatial",): missing,
            ("political_geocoding_uri",): missing, ("political_geocoding_level_uri",): missing}
    full.update(data)
    val.gelsenkirchen_dataset_spatial(("__before",), full, {}, CTX)
    return full


def test_derivation_from_spatial_coverage():
    data = _before({("spatial_coverage",): ["stadtteil-buer"]})
    assert data[("political_geocoding_uri",)] == \
        "http://dcat-ap.de/def/politicalGeocoding/municipalityKey/05513000"
    assert data[("political_geocoding_level_uri",)] == \
        "http://dcat-ap.de/def/politicalGeocoding/Level/municipality"
    geom = shape(json.loads(data[("spatial",)]))
    w, s, e, n = geography.CITY_BBOX
    assert w <= geom.bounds[0] and geom.bounds[2] <= e and s <= geom.bounds[1] <= n


def test_derivation_defaults_to_whole_city():
    data = _before({})
    assert data[("spatial_coverage",)] == ["gesamtstadt"]
    assert data[("political_geocoding_uri",)].endswith("/05513000")


def test_derivation_keeps_harvested_geocoding_and_malformed_spatial():
    other = "http://dcat-ap.de/def/politicalGeocoding/stateKey/02"
    data = _before({("political_geocoding_uri",): other})
    assert data[("political_geocoding_uri",)] == other
    assert data[("spatial_coverage",)] is missing
    data = _before({("spatial_coverage",): ["bezirk-ost"], ("spatial",): "{broken"})
    assert data[("spatial",)] == "{broken"  # left for its field validator


@pytest.mark.ckan_config("ckanext.gelsenkirchen.boundaries_file", "")
def test_without_boundaries_file_the_city_bbox():
    assert geography.geometry_for(["stadtteil-buer"]) == geography.bbox_geometry()


@pytest.mark.ckan_config("ckanext.gelsenkirchen.boundaries_file",
                         "ckanext.gelsenkirchen:data/boundaries-approximate.geojson")
def test_shipped_boundaries_are_approximate_and_inside_the_city():
    b = geography.boundaries()
    assert b.approximate
    codes = {c for c, a in geography.AREAS.items() if a.level != "stadt"}
    assert set(b.geometries) == codes
    w, s, e, n = geography.CITY_BBOX
    for geometry in b.geometries.values():
        minx, miny, maxx, maxy = shape(geometry).bounds
        assert w <= minx and maxx <= e and s <= miny and maxy <= n
    with open(geography.resolve_path("ckanext.gelsenkirchen:data/boundaries-approximate.geojson"),
              encoding="utf-8") as f:
        data = json.load(f)
    assert "APPROXIMATE" in data["properties"]["title"]
    assert all(f["properties"]["approximate"] for f in data["features"])
    # north above south
    assert shape(b.geometries["bezirk-nord"]).centroid.y > shape(
        b.geometries["bezirk-sued"]).centroid.y


# -- harvester fields, counts ----------------------------------------------------------

class _Pkg:
    def __init__(self, extras):
        self.extras = extras


def test_harvester_field_rules():
    key = ("hotspot_count",)
    editor = {"user": "nobody-in-particular", "package": _Pkg({"hotspot_count": "42"})}
    data = {key: missing}
    val.gelsenkirchen_harvester_field(key, data, {key: []}, editor)
    assert data[key] == "42"  # kept when the form does not send it
    errors = {key: []}
    val.gelsenkirchen_harvester_field(key, {key: 42}, errors, editor)  # unchanged: fine
    assert not errors[key]
    with pytest.raises(StopOnError):
        val.gelsenkirchen_harvester_field(key, {key: 43}, errors, editor)
    assert errors[key]
    errors = {key: []}
    val.gelsenkirchen_harvester_field(key, {key: 43}, errors, {"ignore_auth": True})
    assert not errors[key]


def test_counts_and_percentages():
    assert val.gelsenkirchen_count("7", CTX) == "7"
    assert val.gelsenkirchen_percentage("97,5 %".replace(" ", ""), CTX) == "97.5"
    for bad in ("-1", "x"):
        with pytest.raises(tk.Invalid):
            val.gelsenkirchen_count(bad, CTX)
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_percentage("101", CTX)
    key = ("schools_connected",)
    assert _run(val.gelsenkirchen_connected_count, key, {key: "7", ("schools_total",): "6"})
    assert not _run(val.gelsenkirchen_connected_count, key, {key: "6", ("schools_total",): "6"})


def test_lists_and_status_counts():
    assert json.loads(val.gelsenkirchen_text_list("GE-Free\nGE-Free, 5G", CTX)) == [
        "GE-Free", "GE-Free, 5G"]
    assert json.loads(val.gelsenkirchen_stadtteile(["Buer", "stadtteil-hessler"], CTX)) == [
        "stadtteil-buer", "stadtteil-hessler"]
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_stadtteile(["Nord"], CTX)  # a Stadtbezirk, not a Stadtteil
    assert json.loads(val.gelsenkirchen_speed_classes(["ge1000", "ge50"], CTX)) == [
        "ge50", "ge1000"]
    assert json.loads(val.gelsenkirchen_status_counts({"online": 3}, CTX)) == {"online": 3}
    for bad in ('{"active": -1}', "[1]", '{"a": "3"}'):
        with pytest.raises(tk.Invalid):
            val.gelsenkirchen_status_counts(bad, CTX)


def test_contributor_id_default_and_check():
    assert val.gelsenkirchen_contributor_id(missing, CTX) == \
        "http://dcat-ap.de/def/contributors/openNRW"
    with pytest.raises(tk.Invalid):
        val.gelsenkirchen_contributor_id("http://example.org/me", CTX)
