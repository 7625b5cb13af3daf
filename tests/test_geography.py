"""The geography module: one city, one boundaries rule, one lookup."""
from __future__ import annotations

import json

import pytest
from pyproj import Transformer

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters.source import crs
from ckanext.gelsenkirchen.logic import vocabularies as v

APPROXIMATE = "ckanext.gelsenkirchen:data/boundaries-approximate.geojson"


def square(lon: float, lat: float, size: float = 0.01) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}


def test_one_city():
    assert geography.CITY_AGS == "05513000" and v.CITY_POLITICAL_GEOCODING_URI.endswith(
        "/municipalityKey/05513000")
    w, s, e, n = geography.CITY_BBOX
    shipped = geography.load_boundaries(APPROXIMATE)
    sw, ss, se, sn = shipped.bbox
    assert w <= sw and ss >= s and se <= e and sn <= n


def test_the_code_property_names_the_area_and_the_vocabulary_the_rest():
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "stadtteil-buer", "name": "Buer-Mitte",
                                           "level": "bezirk"}, "geometry": square(7.05, 51.57)},
        {"type": "Feature", "properties": {"name": "Horst", "level": "stadtteil"},
         "geometry": square(7.0, 51.55)},
        {"type": "Feature", "properties": {"code": "stadtteil-atlantis"},
         "geometry": square(7.1, 51.5)},
        {"type": "Feature", "properties": {"code": "bezirk-nord", "approximate": True},
         "geometry": square(7.0, 51.56, 0.1)}]}
    boundaries = geography.Boundaries.from_geojson(doc)
    assert [(b.code, b.name, b.level) for b in boundaries.boundaries] == [
        ("stadtteil-buer", "Buer", "stadtteil"), ("bezirk-nord", "Nord", "stadtbezirk")]
    assert boundaries.approximate
    assert boundaries.lookup(7.055, 51.575) == ("Buer", "Nord")
    assert boundaries.lookup(7.08, 51.64) == ("", "")


def test_a_file_in_another_crs_is_reprojected():
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    ring = [list(to_utm.transform(*p)) for p in square(7.05, 51.57)["coordinates"][0]]
    doc = {"type": "FeatureCollection",
           "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
           "features": [{"type": "Feature", "properties": {"code": "stadtteil-buer"},
                         "geometry": {"type": "Polygon", "coordinates": [ring]}}]}
    boundaries = geography.Boundaries.from_geojson(doc)
    assert boundaries.lookup(7.055, 51.575) == ("Buer", "Nord")


def test_only_stadtbezirke_give_the_stadtbezirk():
    doc = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"code": "bezirk-west"}, "geometry": square(7.0, 51.55)}]}
    assert geography.Boundaries.from_geojson(doc).lookup(7.005, 51.555) == ("", "West")


def test_stadtteil_names_and_their_stadtbezirk_without_a_file():
    assert geography.stadtteil_code("Heßler") == "stadtteil-hessler"
    assert geography.stadtteil_code("hessler") == "stadtteil-hessler"
    assert geography.stadtteil_code("Ückendorf") == "stadtteil-ueckendorf"
    assert geography.stadtteil_code("Mitte") is None and geography.stadtteil_code("Bülse") is None
    assert geography.bezirk_of("Resser Mark") == "Ost" and geography.bezirk_of("Nirgendwo") == ""


def test_no_file_means_no_boundaries_and_an_unreadable_file_is_logged(tmp_path, monkeypatch):
    assert geography.load_boundaries("").empty
    broken = tmp_path / "broken.geojson"
    broken.write_text("{", encoding="utf-8")
    logged: list[str] = []
    monkeypatch.setattr(geography.log, "error", lambda text, *args: logged.append(text % args))
    assert geography.load_boundaries(str(broken)).empty
    assert logged and logged[0].startswith("Cannot read the boundaries file")
    assert geography.resolve_path(f"file://{broken}") == str(broken)


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.ckan_config("ckanext.gelsenkirchen.boundaries_file", "")
@pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.bbox_margin_m", "0")
def test_without_a_file_the_city_box_everywhere():
    assert geography.boundaries().empty
    assert geography.geometry_for(["stadtteil-buer"]) == geography.bbox_geometry()
    assert geography.accepted_area() == geography.CITY_BBOX


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.ckan_config("ckanext.gelsenkirchen.boundaries_file", APPROXIMATE)
@pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.bbox_margin_m", "0")
def test_with_the_file_its_extent_and_its_areas():
    boundaries = geography.boundaries()
    assert boundaries.approximate and len(boundaries.of_level("stadtteil")) == 18
    assert geography.accepted_area() == boundaries.bbox
    assert geography.accepted_area([7.0, 51.5, 7.1, 51.6]) == (7.0, 51.5, 7.1, 51.6)
    buer = json.dumps(geography.geometry_for(["stadtteil-buer"]))
    assert buer != json.dumps(geography.bbox_geometry())


def test_geo_helpers():
    assert geography.load_boundaries(APPROXIMATE).lookup(7.09, 51.51) == ("Altstadt", "Mitte")
    assert geography.load_boundaries(APPROXIMATE).lookup(0, 0) == ("", "")
    assert json.loads(geography.spatial_geojson([(7.0, 51.5), (7.1, 51.6)]))["type"] == "Polygon"
    assert json.loads(geography.spatial_geojson([(7.0, 51.5)]))["type"] == "Point"
    lons, lats = crs.to_wgs84([367900.0], [5708000.0], "EPSG:25832")
    assert 7.0 < lons[0] < 7.2 and 51.4 < lats[0] < 51.6
    assert geography.resolve_path("ckanext.gelsenkirchen:data/x.geojson").endswith(
        "ckanext/gelsenkirchen/data/x.geojson")
