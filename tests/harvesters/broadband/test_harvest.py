"""Real broadband harvests (gather -> fetch -> import with ckanext-harvest)
against PostgreSQL, the DataStore, Redis and pgsolr; remote sources mocked
at the HTTP transport level with ``responses``."""
from __future__ import annotations

import csv
import io
import json
import re

import ckan.plugins.toolkit as tk
import pytest
import responses
import shapely
from ckan import model
from ckan.tests import factories
from ckanext.harvest.model import HarvestObject
from openpyxl import Workbook

from ckanext.gelsenkirchen import dataset_types, geography

from .. import support
from ..support import dataset_of, field, file_of, mock
from .support import utm_cell, write_gpkg

pytestmark = [
    pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.allow_private_addresses", "true"),
    pytest.mark.usefixtures("with_plugins", "plugin_db"),
]
FEEDS = "https://breitband.example.org"
ATTRIBUTION = "Breitbandatlas | Gigabit-Grundbuch (Bundesnetzagentur), Stand {date}"


# ---------------------------------------------------------------- helpers

def square(lon: float, lat: float, size: float = 0.02) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}


AREAS = {"st-altstadt": ("Altstadt", 7.08, 51.50), "st-buer": ("Buer", 7.04, 51.57),
         "st-hassel": ("Hassel", 7.07, 51.61)}
JUNE = {"st-altstadt": (1000, 90, 40, 30, 3, 1), "st-buer": (3000, 70, 20, 10, 5, 3),
        "st-hassel": (1000, 50, 0, 0, None, None)}
DECEMBER = {"st-altstadt": (1000, 95, 60, 50, 4, 0), "st-buer": (3000, 80, 40, 30, 6, 2),
            "st-hassel": (1000, 60, 10, 10, None, None)}


def coverage(values: dict, date: str | None, extra: list[dict] | None = None) -> dict:
    features = []
    for area_id, (hh, p50, p1000, ftthb, schools, no_schools) in values.items():
        name, lon, lat = AREAS[area_id]
        props = {"area_id": area_id, "name": name, "households": hh,
                 "down_fn_hh_alle_16": min(100, p50 + 5), "down_fn_hh_alle_50": p50,
                 "down_fn_hh_alle_1000": p1000, "down_fn_hh_ftthb_1000": ftthb}
        if date:
            props["stichtag"] = date
        if schools is not None:
            props.update(schulen_glasfaser=schools, schulen_ohne_glasfaser=no_schools)
        features.append({"type": "Feature", "geometry": square(lon, lat), "properties": props})
    return {"type": "FeatureCollection", "features": features + (extra or [])}


def create_source(url: str, config: dict | None = None, name: str = "breitband-quelle") -> dict:
    return support.create_source("gelsenkirchen_broadband", url, config, name=name,
                                 title="Breitbandversorgung Test")


def run(source: dict) -> dict:
    return support.run_job(source, "gelsenkirchen_broadband")


def rows_of(dataset: dict) -> list[dict]:
    return support.rows_of(dataset, "reference_date, area_id")


def pct(row: dict, name: str) -> float:
    return float(row[name])


def figures(dataset: dict) -> dict:
    names = [f["field_name"] for f in dataset_types.type_fields(dataset_types.BROADBAND)]
    return {n: field(dataset, n) for n in names if field(dataset, n) is not None}


# ---------------------------------------------------------------- GeoJSON, history, figures

def test_geojson_history_across_reference_dates_with_files_and_figures(rsps, app):
    url = f"{FEEDS}/breitband.geojson"
    mock(rsps, url, coverage(JUNE, "2025-06"))
    source = create_source(url, {"attribution": ATTRIBUTION.format(date="06/2025")})
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    assert out["statuses"] == ["added"]
    dataset = dataset_of(source)
    assert dataset["type"] == "broadband-coverage"
    rows = rows_of(dataset)
    assert [(r["area_id"], r["reference_date"][:10]) for r in rows] == [
        ("05513000", "2025-06-30"), ("st-altstadt", "2025-06-30"), ("st-buer", "2025-06-30"),
        ("st-hassel", "2025-06-30")]
    city = rows[0]
    # hand-computed, household-weighted: (1000*90 + 3000*70 + 1000*50) / 5000 = 70
    assert pct(city, "down_fn_hh_alle_50") == 70.0
    assert pct(city, "down_fn_hh_alle_1000") == 20.0  # (40000 + 60000 + 0) / 5000
    assert pct(city, "down_fn_hh_ftthb_1000") == 12.0  # (30000 + 30000 + 0) / 5000
    assert city["households"] == 5000 and city["schools_fibre"] == 8
    assert city["area_level"] == "stadt" and city["aggregated_from"] == 3
    june = figures(dataset)
    assert june["reference_date"] == "2025-06-30"
    speeds = june["speed_classes"]
    assert (json.loads(speeds) if isinstance(speeds, str) else speeds) == ["ge16", "ge50", "ge1000"]
    assert float(june["households_50mbit_share"]) == 70.0
    assert float(june["households_1gbit_share"]) == 20.0
    assert float(june["households_ftth_share"]) == 12.0
    assert int(june["schools_connected"]) == 8 and int(june["schools_total"]) == 12
    assert field(dataset, "source_attribution") == "Breitbandatlas | Gigabit-Grundbuch (Bundesnetzagentur), Stand 06/2025"

    # the next reference date adds rows; the June rows stay
    rsps.replace(responses.GET, url, body=json.dumps(coverage(DECEMBER, "2025-12")),
                 content_type="application/geo+json")
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    assert out["statuses"] == ["updated"]
    dataset = dataset_of(source)
    rows = rows_of(dataset)
    assert len(rows) == 8
    by_key = {(r["area_id"], r["reference_date"][:10]): r for r in rows}
    assert pct(by_key[("st-buer", "2025-06-30")], "down_fn_hh_alle_50") == 70.0
    assert pct(by_key[("st-buer", "2025-12-31")], "down_fn_hh_alle_50") == 80.0
    assert pct(by_key[("05513000", "2025-06-30")], "down_fn_hh_alle_50") == 70.0
    december = figures(dataset)
    assert december["reference_date"] == "2025-12-31"
    assert float(december["households_50mbit_share"]) == 79.0  # (95+240+60)*1000/5000
    assert float(december["households_1gbit_share"]) == 38.0
    assert float(december["households_ftth_share"]) == 30.0
    assert int(december["schools_connected"]) == 10 and int(december["schools_total"]) == 12
    # resources: table, GeoJSON of the latest date, CSV of all rows, source link
    formats = sorted(r["format"] for r in dataset["resources"])
    assert formats == ["CSV", "CSV", "GEOJSON", "GEOJSON"], formats
    source_link = next(r for r in dataset["resources"] if r["url"] == url)
    assert source_link["name"] == "Originalquelle"
    geojson = json.loads(file_of(app, dataset, "GeoJSON"))
    assert geojson["reference_date"] == "2025-12-31"
    assert geojson["attribution"].startswith("Breitbandatlas | Gigabit-Grundbuch")
    assert sorted(f["id"] for f in geojson["features"]) == ["st-altstadt", "st-buer", "st-hassel"]
    assert shapely.geometry.shape(geojson["features"][0]["geometry"]).area > 0
    table = list(csv.DictReader(io.StringIO(file_of(app, dataset, "CSV").decode("utf-8"))))
    assert len(table) == 8 and {r["reference_date"] for r in table} == {"2025-06-30", "2025-12-31"}

    # the same source again: unchanged, nothing touched
    out = run(source)
    assert out["statuses"] == ["not modified"], out
    assert len(rows_of(dataset_of(source))) == 8

    # a re-published reference date replaces only its own rows
    corrected = dict(DECEMBER, **{"st-buer": (3000, 85, 45, 35, 6, 2)})
    rsps.replace(responses.GET, url, body=json.dumps(coverage(corrected, "2025-12")),
                 content_type="application/geo+json")
    out = run(source)
    assert out["statuses"] == ["updated"], out
    rows = rows_of(dataset_of(source))
    by_key = {(r["area_id"], r["reference_date"][:10]): r for r in rows}
    assert len(rows) == 8
    assert pct(by_key[("st-buer", "2025-12-31")], "down_fn_hh_alle_50") == 85.0
    assert pct(by_key[("st-buer", "2025-06-30")], "down_fn_hh_alle_50") == 70.0
    assert pct(by_key[("05513000", "2025-12-31")], "down_fn_hh_alle_50") == 82.0


def test_bad_rows_are_skipped_and_listed_in_the_job_report(rsps):
    url = f"{FEEDS}/schlecht.geojson"
    extra = [
        {"type": "Feature", "geometry": square(7.0, 51.5), "properties": {
            "area_id": "st-ueber", "households": 10, "down_fn_hh_alle_50": 120,
            "stichtag": "2025-06"}},
        {"type": "Feature", "geometry": square(7.0, 51.5), "properties": {
            "area_id": "st-mono", "households": 10, "down_fn_hh_alle_50": 60,
            "down_fn_hh_alle_100": 70, "stichtag": "2025-06"}},
        {"type": "Feature", "geometry": square(7.0, 51.5), "properties": {
            "area_id": "st-ohne-datum", "households": 10, "down_fn_hh_alle_50": 60}},
        {"type": "Feature", "geometry": square(7.0, 51.5), "properties": {
            "area_id": "st-buer", "households": 10, "down_fn_hh_alle_50": 1,
            "stichtag": "2025-06"}},
        {"type": "Feature", "geometry": square(7.0, 51.5), "properties": {
            "area_id": "st-neu", "households": 10, "down_fn_hh_alle_50": 60,
            "down_fn_hh_laser_50": 99, "stichtag": "2025-06"}},
        {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [[
            [7.0, 51.5], [7.01, 51.51], [7.01, 51.5], [7.0, 51.51], [7.0, 51.5]]]},
         "properties": {"area_id": "st-schleife", "households": 0, "down_fn_hh_alle_50": 60,
                        "stichtag": "2025-06"}},
    ]
    mock(rsps, url, coverage(JUNE, "2025-06", extra))
    source = create_source(url)
    out = run(source)
    assert out["gather_errors"] == [], out
    messages = out["object_messages"]
    assert any(m.startswith("Skipped row 4, id 'st-ueber': percentage outside 0-100")
               for m in messages), messages
    assert any("id 'st-mono': higher speed class covers more households" in m for m in messages)
    assert any("id 'st-ohne-datum': missing reference date" in m for m in messages)
    assert any("id 'st-buer': duplicate area: st-buer at 2025-06-30" in m for m in messages)
    assert any("unknown technology code: 'laser'" in m for m in messages)
    assert any("area st-schleife: invalid polygon repaired" in m for m in messages)
    rows = rows_of(dataset_of(source))
    assert sorted(r["area_id"] for r in rows) == [
        "05513000", "st-altstadt", "st-buer", "st-hassel", "st-neu", "st-schleife"]
    buer = next(r for r in rows if r["area_id"] == "st-buer")
    assert pct(buer, "down_fn_hh_alle_50") == 70.0  # the first occurrence
    obj = model.Session.query(HarvestObject).filter_by(current=True).one()
    report = json.loads(next(e.value for e in obj.extras if e.key == "report"))
    assert len(report["skipped"]) == 5 and report["published"] == 5


# ---------------------------------------------------------------- failures leave history

def test_failed_or_malformed_source_leaves_dataset_and_history_untouched(rsps):
    url = f"{FEEDS}/breitband.geojson"
    mock(rsps, url, coverage(JUNE, "2025-06"))
    source = create_source(url)
    assert run(source)["statuses"] == ["added"]
    before = rows_of(dataset_of(source))
    modified = dataset_of(source)["metadata_modified"]
    for body, status, expected in [
        ("{not json", 200, "The source could not be read: not valid JSON"),
        (json.dumps({"type": "Topology"}), 200, "not a GeoJSON FeatureCollection"),
        ("Server kaputt", 500, "HTTP 500"),
        ("<html><title>Wartung</title></html>", 200, "HTML page"),
        # hostile input (issue 12, finding 7): each escaped the parser and ended the consumer
        (json.dumps({**coverage(JUNE, "2025-06"), "crs": {"type": "name", "properties": [1]}}),
         200, "the document's \"crs\" member: its \"properties\" are not an object"),
        (json.dumps({**coverage(JUNE, "2025-06"), "crs": {"type": "name", "properties": {
            "name": "+proj=longlat +nadgrids=/dev/zero"}}}), 200, "PROJ strings"),
        ('{"type": "FeatureCollection", "features": [], "n": 1' + "0" * 5000 + "}", 200,
         "not valid JSON: Exceeds the limit"),
    ]:
        rsps.replace(responses.GET, url, body=body, status=status,
                     content_type="application/json")
        out = run(source)
        assert len(out["gather_errors"]) == 1 and expected in out["gather_errors"][0], out
        assert "The published dataset was not changed" in out["gather_errors"][0]
        assert rows_of(dataset_of(source)) == before
        assert dataset_of(source)["metadata_modified"] == modified


def test_deletion_guard_when_areas_disappear(rsps):
    url = f"{FEEDS}/breitband.geojson"
    mock(rsps, url, coverage(JUNE, "2025-06"))
    source = create_source(url)
    run(source)
    rsps.replace(responses.GET, url, body=json.dumps(coverage(
        {"st-buer": DECEMBER["st-buer"]}, "2025-12")), content_type="application/geo+json")
    out = run(source)
    assert any(m.startswith("Deletion guard: the snapshot would drop 2 of 3") for m in
               out["object_messages"]), out
    rows = rows_of(dataset_of(source))
    assert {r["reference_date"][:10] for r in rows} == {"2025-06-30"} and len(rows) == 4
    # every row invalid: an empty snapshot is not published either
    rsps.replace(responses.GET, url, body=json.dumps(coverage(JUNE, None)),
                 content_type="application/geo+json")
    out = run(source)
    assert any("the snapshot is empty" in m for m in out["object_messages"]), out
    assert len(rows_of(dataset_of(source))) == 4


def test_private_addresses_and_byte_limit_are_refused(rsps):
    source = create_source("http://10.1.2.3/breitband.geojson")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(tk.config, "ckanext.gelsenkirchen.harvest.allow_private_addresses", "false")
        out = run(source)
    assert "private" in out["gather_errors"][0] and dataset_of(source) is None
    url = f"{FEEDS}/gross.geojson"
    mock(rsps, url, coverage(JUNE, "2025-06"))
    big = create_source(url, name="gross")
    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(tk.config, "ckanext.gelsenkirchen.harvest.max_bytes", "100")
        out = run(big)
    assert "larger than the limit" in out["gather_errors"][0], out


def test_configuration_is_validated_on_save():
    for config, message in [
        ({"format": "shapefile"}, "format"),
        ({"fields": {"X": "down_fn_hh_warp_50"}}, "fields"),
        ({"reference_date": "bald"}, "reference_date"),
        ({"crs": "EPSG:999999"}, "crs"),
        ({"surprise": 1}, "unknown key"),
        ({"format": "csv", "layer": "grid"}, "layer"),
    ]:
        with pytest.raises(tk.ValidationError, match=message):
            create_source(f"{FEEDS}/x.geojson", config, name=f"bad-{abs(hash(message)) % 1000}")


# ---------------------------------------------------------------- the other formats

def _esri(values: dict, date_ms: int) -> list[dict]:
    out = []
    for area_id, (hh, p50, p1000, _ftthb, *_counts) in values.items():
        name, lon, lat = AREAS[area_id]
        ring = square(lon, lat)["coordinates"][0][::-1]  # Esri: clockwise outer ring
        out.append({"attributes": {"GEBIET_ID": area_id, "NAME": name, "HH": hh,
                                   "DOWN_FN_HH_ALLE_50": p50, "DOWN_FN_HH_ALLE_1000": p1000,
                                   "DATENSTAND": date_ms},
                    "geometry": {"rings": [ring]}})
    return out


def test_arcgis_feature_server_esri_json_paged(rsps):
    layer = f"{FEEDS}/arcgis/rest/services/Gigabit/FeatureServer/3"
    features = _esri(JUNE, 1751241600000)
    for offset in (0, 2):
        rsps.add(responses.GET, f"{layer}/query", json={
            "features": features[offset:offset + 2], "spatialReference": {"wkid": 4326},
            "exceededTransferLimit": offset == 0},
            match=[responses.matchers.query_param_matcher({
                "where": "1=1", "outFields": "*", "returnGeometry": "true", "outSR": "4326",
                "f": "json", "resultOffset": str(offset), "resultRecordCount": "2"})])
    source = create_source(layer, {"arcgis_format": "json", "page_size": 2})
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    rows = rows_of(dataset_of(source))
    assert len(rows) == 4 and pct(rows[0], "down_fn_hh_alle_50") == 70.0
    assert rows[1]["area_name"] == "Altstadt" and rows[1]["reference_date"][:10] == "2025-06-30"


def test_arcgis_esri_json_without_area_ids_falls_back_to_the_object_ids(rsps):
    """Attributes that name the area but carry no scheme id: the features'
    identity is the layer's objectIdFieldName, as with f=geojson."""
    layer = f"{FEEDS}/arcgis/rest/services/Gigabit/FeatureServer/4"
    features = _esri(JUNE, 1751241600000)
    for number, feature in enumerate(features, start=1):
        del feature["attributes"]["GEBIET_ID"]
        feature["attributes"]["OBJECTID"] = number
    rsps.add(responses.GET, f"{layer}/query", json={
        "objectIdFieldName": "OBJECTID", "features": features,
        "spatialReference": {"wkid": 4326}})
    source = create_source(layer, {"arcgis_format": "json"})
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    rows = rows_of(dataset_of(source))
    assert sorted((r["area_id"], r["area_name"]) for r in rows if r["area_level"] != "stadt") \
        == [("1", "Altstadt"), ("2", "Buer"), ("3", "Hassel")]
    # the same layer answered as f=geojson publishes the same areas
    as_geojson = [{"type": "Feature", "id": f["attributes"]["OBJECTID"],
                   "properties": f["attributes"],
                   "geometry": {"type": "Polygon", "coordinates": f["geometry"]["rings"]}}
                  for f in features]
    rsps.replace(responses.GET, f"{layer}/query",
                 json={"type": "FeatureCollection", "features": as_geojson})
    other = create_source(layer, {}, name="arcgis-geojson")
    out = run(other)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    assert [r["area_id"] for r in rows_of(dataset_of(other))] == [r["area_id"] for r in rows]


@pytest.mark.parametrize("rule, households", [("comma", 1234), ("point", None)])
def test_the_decimal_rule_of_a_source_decides_what_1_234_is(rsps, rule, households):
    """Nothing in the table decides the rule (whole percentages, "1.234"
    households): the configured rule does; under "point" 1.234 households
    are not a whole number and the row is skipped."""
    url = f"{FEEDS}/haushalte.csv"
    mock(rsps, url, b"Gebiet_ID;Name;Stichtag;Haushalte;down_fn_hh_alle_50\n"
                    b"st-buer;Buer;2025-06;1.234;90\nst-hassel;Hassel;2025-06;800;70\n",
         content_type="text/csv")
    source = create_source(url, {"decimal": rule})
    out = run(source)
    rows = {r["area_id"]: r for r in rows_of(dataset_of(source))}
    assert (rows["st-buer"]["households"] if "st-buer" in rows else None) == households
    if rule == "point":
        assert any("id 'st-buer': not a non-negative whole number: Haushalte = '1.234'" in m
                   for m in out["object_messages"]), out
    obj = model.Session.query(HarvestObject).filter_by(current=True).one()
    report = json.loads(next(e.value for e in obj.extras if e.key == "report"))
    assert report["rules"]["decimal"] == f"{rule} (configured)"


def test_the_detected_decimal_rule_is_in_the_job_report(rsps):
    url = f"{FEEDS}/breitband.csv"
    mock(rsps, url, b"Gebiet_ID;Stichtag;Haushalte;down_fn_hh_alle_50\n"
                    b"st-buer;2025-06;1.234;90,5\nst-hassel;2025-06;800;70,25\n",
         content_type="text/csv")
    source = create_source(url)
    assert run(source)["object_messages"] == []
    rows = {r["area_id"]: r for r in rows_of(dataset_of(source))}
    assert rows["st-buer"]["households"] == 1234 and pct(rows["st-buer"],
                                                         "down_fn_hh_alle_50") == 90.5
    obj = model.Session.query(HarvestObject).filter_by(current=True).one()
    report = json.loads(next(e.value for e in obj.extras if e.key == "report"))
    assert report["rules"]["decimal"] == "comma (detected from 2 values)"


def test_a_getfeature_url_without_service_is_a_wfs_too(rsps):
    """One WFS rule for both harvesters: request=GetFeature or service=WFS."""
    features = coverage(JUNE, "2025-06")["features"]
    rsps.add(responses.GET, f"{FEEDS}/geoserver/ows", json={
        "type": "FeatureCollection", "features": features, "numberMatched": 3},
        match=[responses.matchers.query_param_matcher({
            "request": "GetFeature", "typeNames": "bb:versorgung", "startIndex": "0",
            "count": "1000", "outputFormat": "application/json"})])
    source = create_source(f"{FEEDS}/geoserver/ows?request=GetFeature&typeNames=bb:versorgung")
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    assert len(rows_of(dataset_of(source))) == 4


def test_ogc_api_features_and_wfs_paging(rsps):
    items = f"{FEEDS}/ogc/collections/breitband/items"
    features = coverage(JUNE, "2025-06")["features"]
    rsps.add(responses.GET, items, json={
        "type": "FeatureCollection", "features": features[:2],
        "links": [{"rel": "next", "href": "items?offset=2", "type": "application/geo+json"}]},
        match=[responses.matchers.query_param_matcher({"limit": "1000"})])
    rsps.add(responses.GET, items, json={"type": "FeatureCollection", "features": features[2:]},
             match=[responses.matchers.query_param_matcher({"offset": "2"})])
    source = create_source(items)
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    assert len(rows_of(dataset_of(source))) == 4

    wfs = f"{FEEDS}/wfs?service=WFS&version=2.0.0&request=GetFeature&typeNames=bb:versorgung"
    for start in (0, 2):
        rsps.add(responses.GET, f"{FEEDS}/wfs", json={
            "type": "FeatureCollection", "features": features[start:start + 2],
            "numberMatched": 3}, match=[responses.matchers.query_param_matcher({
                "service": "WFS", "version": "2.0.0", "request": "GetFeature",
                "typeNames": "bb:versorgung", "startIndex": str(start), "count": "2",
                "outputFormat": "application/json"})])
    source = create_source(wfs, {"page_size": 2}, name="wfs-quelle")
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    assert len(rows_of(dataset_of(source))) == 4


def test_csv_and_xlsx_tables_with_both_reference_dates(rsps):
    header = "Gebiet_ID;Name;Stichtag;Haushalte;down_fn_hh_alle_50;down_fn_hh_alle_1000\n"
    lines = [f"{a};{AREAS[a][0]};{d};{v[0]};{v[1]};{v[2]}\n"
             for d, values in (("06/2025", JUNE), ("12/2025", DECEMBER))
             for a, v in values.items()]
    url = f"{FEEDS}/breitband.csv"
    mock(rsps, url, (header + "".join(lines)).encode("cp1252"), content_type="text/csv")
    source = create_source(url)
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    dataset = dataset_of(source)
    rows = rows_of(dataset)
    assert len(rows) == 8
    assert float(figures(dataset)["households_50mbit_share"]) == 79.0

    book = Workbook()
    book.active.append(["area_id", "area_name", "reference_date", "households",
                        "down_fn_hh_alle_50"])
    for area_id, values in JUNE.items():
        book.active.append([area_id, AREAS[area_id][0], "2025-06", values[0], values[1]])
    buffer = io.BytesIO()
    book.save(buffer)
    url = f"{FEEDS}/breitband.xlsx"
    mock(rsps, url, buffer.getvalue(),
         content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
    source = create_source(url, name="xlsx-quelle")
    out = run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    rows = rows_of(dataset_of(source))
    assert len(rows) == 4 and pct(rows[0], "down_fn_hh_alle_50") == 70.0


def _stadtteil_points() -> dict[str, tuple[float, float]]:
    """A point inside Scholven and one inside Hassel of the configured
    (test.ini: the shipped approximate) boundaries."""
    out = {}
    for boundary in geography.boundaries().of_level("stadtteil"):
        if boundary.code in ("stadtteil-scholven", "stadtteil-hassel"):
            point = boundary.geometry.representative_point()
            out[boundary.code] = (point.x, point.y)
    return out


def test_geopackage_grid_is_aggregated_to_stadtteile_and_city(rsps):
    points = _stadtteil_points()
    sx, sy = points["stadtteil-scholven"]
    hx, hy = points["stadtteil-hassel"]
    base = {"ags": "05513000", "stichtag": "2025-12"}
    cells = [
        {**base, "geom": utm_cell(sx, sy), "households": 10, "down_fn_hh_alle_50": 100.0,
         "down_fn_hh_alle_1000": 90.0},
        {**base, "geom": utm_cell(sx + 0.002, sy), "households": 30, "down_fn_hh_alle_50": 50.0,
         "down_fn_hh_alle_1000": 10.0},
        {**base, "geom": utm_cell(hx, hy), "households": 60, "down_fn_hh_alle_50": 20.0,
         "down_fn_hh_alle_1000": 0.0},
        {**base, "ags": "05562000", "geom": utm_cell(hx, hy), "households": 999,
         "down_fn_hh_alle_50": 0.0, "down_fn_hh_alle_1000": 0.0},
        {**base, "geom": utm_cell(hx, hy), "households": 5, "down_fn_hh_alle_50": 150.0},
    ]
    url = f"{FEEDS}/raster.gpkg"
    mock(rsps, url, write_gpkg(cells), content_type="application/geopackage+sqlite3")
    source = create_source(url)
    out = run(source)
    assert out["gather_errors"] == [], out
    assert any(m.startswith("Skipped row 5: percentage outside 0-100") for m in out["object_messages"])
    dataset = dataset_of(source)
    rows = {r["area_id"]: r for r in rows_of(dataset)}
    assert set(rows) == {"05513000", "stadtteil-scholven", "stadtteil-hassel"}
    assert pct(rows["stadtteil-scholven"], "down_fn_hh_alle_50") == 62.5  # (1000+1500)/40
    assert rows["stadtteil-scholven"]["aggregated_from"] == 2
    assert pct(rows["05513000"], "down_fn_hh_alle_50") == 37.0  # (1000+1500+1200)/100
    assert float(figures(dataset)["households_1gbit_share"]) == 12.0  # (900+300)/100


@pytest.mark.ckan_config("ckanext.gelsenkirchen.boundaries_file", "")
def test_without_boundaries_file_a_grid_is_a_gather_error_not_the_demo_boundaries(rsps):
    """As the configuration reference says: no file, no boundaries. The
    approximate demo file is not used behind the operator's back."""
    sx, sy = 7.0, 51.6
    url = f"{FEEDS}/raster.gpkg"
    mock(rsps, url, write_gpkg([{"geom": utm_cell(sx, sy), "ags": "05513000",
                                 "stichtag": "2025-12", "households": 7,
                                 "down_fn_hh_alle_50": 99.0}]))
    source = create_source(url)
    out = run(source)
    assert len(out["gather_errors"]) == 1, out
    assert "set ckanext.gelsenkirchen.boundaries_file" in out["gather_errors"][0]
    assert dataset_of(source) is None


def test_grid_against_the_approximate_boundaries_says_so(rsps):
    sx, sy = _stadtteil_points()["stadtteil-scholven"]
    url = f"{FEEDS}/raster.gpkg"
    mock(rsps, url, write_gpkg([{"geom": utm_cell(sx, sy), "ags": "05513000",
                                 "stichtag": "2025-12", "households": 7,
                                 "down_fn_hh_alle_50": 99.0}]))
    out = run(create_source(url))
    assert any("APPROXIMATE boundaries" in m for m in out["object_messages"]), out


def test_corrupt_geopackage_is_a_gather_error_not_a_crash(rsps):
    url = f"{FEEDS}/kaputt.gpkg"
    mock(rsps, url, b"SQLite format 3\x00" + b"\x00\xff" * 500)
    source = create_source(url)
    out = run(source)
    assert len(out["gather_errors"]) == 1 and "GeoPackage" in out["gather_errors"][0], out
    assert dataset_of(source) is None


# ---------------------------------------------------------------- web form, CLI, demo feeds

def test_gpkg_source_via_web_form_runs_with_the_cli(rsps, app, cli):
    from ckan.cli.cli import ckan

    sysadmin = factories.SysadminWithToken()
    org = factories.Organization(users=[{"name": sysadmin["name"], "capacity": "admin"}])
    headers = {"Authorization": sysadmin["token"]}
    page = app.get("/harvest/new", headers=headers).get_data(as_text=True)
    assert 'value="gelsenkirchen_broadband"' in page
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    points = _stadtteil_points()
    sx, sy = points["stadtteil-scholven"]
    url = f"{FEEDS}/formular.gpkg"
    mock(rsps, url, write_gpkg([{"geom": utm_cell(sx, sy), "ags": "05513000",
                                 "stichtag": "2025-06", "households": 7,
                                 "down_fn_hh_alle_50": 99.0}]))
    resp = app.post("/harvest/new", headers=headers, data={
        "_csrf_token": token, "url": url, "title": "Raster aus dem Formular",
        "name": "raster-formular", "notes": "", "source_type": "gelsenkirchen_broadband",
        "frequency": "MANUAL", "config": '{"format": "gpkg", "layer": "grid"}',
        "owner_org": org["id"], "save": ""}, follow_redirects=False)
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:2000]
    source = tk.get_action("harvest_source_show")({"ignore_auth": True}, {"id": "raster-formular"})
    result = cli.invoke(ckan, ["harvester", "run-test", "raster-formular"])
    assert result.exit_code == 0, result.output
    model.Session.remove()
    rows = rows_of(dataset_of(source))
    assert [(r["area_id"], r["households"]) for r in rows] == [
        ("05513000", 7), ("stadtteil-scholven", 7)]
    # a bad configuration in the form is refused with the key named
    resp = app.post("/harvest/new", headers=headers, data={
        "_csrf_token": token, "url": url, "title": "Kaputt", "name": "kaputt",
        "source_type": "gelsenkirchen_broadband", "frequency": "MANUAL",
        "config": '{"format": "gpkg", "page_limit": 0}', "owner_org": org["id"], "save": ""})
    assert "page_limit" in resp.get_data(as_text=True)


def test_the_demo_feeds_give_two_reference_dates(rsps):
    import pathlib

    root = pathlib.Path(__file__).resolve().parents[3]
    sources = [s for s in json.loads((root / "demo/sources.json").read_text(encoding="utf-8"))
               if s["source_type"] == "gelsenkirchen_broadband"]
    assert len(sources) >= 2
    for entry in sources:
        url = f"http://127.0.0.1:8765/{entry['url']}"
        mock(rsps, url, (root / "demo/feeds" / entry["url"]).read_bytes())
        source = create_source(url, json.loads(entry["config"]), name=entry["name"])
        out = run(source)
        assert out["gather_errors"] == [] and out["object_messages"] == [], out
        dataset = dataset_of(source)
        rows = rows_of(dataset)
        assert {r["reference_date"][:10] for r in rows} == {"2025-06-30", "2025-12-31"}
        city = [r for r in rows if r["area_level"] == "stadt"]
        assert len(city) == 2
        assert pct(city[1], "down_fn_hh_alle_1000") > pct(city[0], "down_fn_hh_alle_1000")
        assert figures(dataset)["reference_date"] == "2025-12-31"
        assert "ERFUNDENE DEMO-DATEN" in field(dataset, "source_attribution")
