"""The readers: GeoJSON, paged sources, CSV and XLSX; the checks of each row.

No database, no network: paged sources are answered by a stub fetch."""
from __future__ import annotations

import io

import pytest
import shapely
from openpyxl import Workbook

from ckanext.gelsenkirchen.harvesters import broadband
from ckanext.gelsenkirchen.harvesters.broadband import readers
from ckanext.gelsenkirchen.harvesters.source import ParseError, limits, paging
from ckanext.gelsenkirchen.harvesters.source.esri import esri_to_geojson_geometry

from ..paging_support import pages_of
from .support import TO_UTM, collection, feature, opts, square


def test_valid_record_and_household_count():
    result = readers.read_geojson(collection(feature({
        "area_id": "st-a", "name": "Altstadt", "stichtag": "2025-06", "anz_hh": 1200,
        "down_fn_hh_alle_50": 93.1, "down_fn_hh_alle_1000": 61.0, "schulen_glasfaser": 4,
        "schulen_ohne_glasfaser": 1}, square(7.0, 51.5))), opts())
    assert not result.skipped
    record, = result.records
    assert record.area_id == "st-a" and record.area_name == "Altstadt"
    assert record.reference_date == "2025-06-30" and record.households == 1200
    assert record.measures == {"down_fn_hh_alle_50": 93.1, "down_fn_hh_alle_1000": 61.0}
    assert record.counts == {"schools_fibre": 4, "schools_no_fibre": 1}


@pytest.mark.parametrize("props, reason", [
    ({"down_fn_hh_alle_50": 101}, "percentage outside 0-100"),
    ({"down_fn_hh_ftth_50": -1}, "percentage outside 0-100"),
    ({"down_fn_hh_alle_50": 80, "down_fn_hh_alle_100": 85},
     "higher speed class covers more households"),
    ({"down_fn_hh_alle_50": "viel"}, "not a number"),
    ({"anz_hh": -5, "down_fn_hh_alle_50": 1}, "not a non-negative whole number"),
])
def test_invalid_rows_are_skipped_with_a_reason(props, reason):
    result = readers.read_geojson(collection(
        feature({"area_id": "ok", "down_fn_hh_alle_50": 50}),
        feature({"area_id": "bad", **props})), opts(reference_date="2025-06"))
    assert [r.area_id for r in result.records] == ["ok"]
    skipped, = result.skipped
    assert skipped.reason.startswith(reason)
    assert skipped.row == 2 and skipped.feature_id == "bad"


@pytest.mark.parametrize("props, geometry, reason", [
    ({"down_fn_hh_alle_50": "1e999"}, None, "not a number: down_fn_hh_alle_50 = '1e999'"),
    ({"anz_hh": 10**400, "down_fn_hh_alle_50": 5}, None, "not a number: anz_hh = 1000"),
    ({"anz_hh": "nan", "down_fn_hh_alle_50": 5}, None, "not a number: anz_hh = 'nan'"),
    ({"anz_hh": 2**40, "down_fn_hh_alle_50": 5}, None, "not a non-negative whole number"),
    ({"down_fn_hh_alle_50": 5}, {"type": "Polygon", "coordinates": [
        [[7.0, 51.5], [float("inf"), 51.5], [7.1, 51.6], [7.0, 51.5]]]},
     "unreadable geometry: a coordinate is not a finite number"),
    ({"down_fn_hh_alle_50": 5}, {"type": "Polygon", "coordinates": [[[7.0, 51.5], "x"]]},
     "unreadable geometry"),
])
def test_hostile_values_are_skipped_rows_with_a_short_reason(props, geometry, reason):
    """Issue 12, finding 7: OverflowError, ValueError and GEOSException
    escaped the reader; the reason names the value in at most 80 characters."""
    result = readers.read_geojson(collection(
        feature({"area_id": "ok", "down_fn_hh_alle_50": 50}),
        feature({"area_id": "bad", **props}, geometry)), opts(reference_date="2025-06"))
    assert [r.area_id for r in result.records] == ["ok"]
    skipped, = result.skipped
    assert skipped.reason.startswith(reason) and len(skipped.reason) < 200, skipped
    assert skipped.row == 2 and skipped.feature_id == "bad"


def test_speed_classes_of_different_technologies_are_independent():
    result = readers.read_geojson(collection(feature({
        "area_id": "a", "down_fn_hh_alle_50": 90, "down_fn_hh_alle_1000": 40,
        "down_fn_hh_ftth_50": 30, "down_fn_hh_ftth_1000": 30})), opts(reference_date="2025-06"))
    assert len(result.records) == 1 and not result.skipped


def test_unknown_technology_code_is_listed_and_ignored():
    result = readers.read_geojson(collection(
        feature({"area_id": "a", "down_fn_hh_alle_50": 90, "down_fn_hh_5g_50": 99}),
        feature({"area_id": "b", "down_fn_hh_alle_50": 80, "down_fn_hh_5g_50": 98}),
        feature({"area_id": "c", "down_fn_hh_alle_25": 80})), opts(reference_date="2025-06"))
    assert [r.area_id for r in result.records] == ["a", "b", "c"]
    assert all("down_fn_hh_5g_50" not in r.measures for r in result.records)
    reasons = sorted(s.reason for s in result.skipped)
    assert reasons[0].startswith("unknown speed class: 25 Mbit/s")
    assert reasons[1] == ("unknown technology code: '5g' (attribute down_fn_hh_5g_50 ignored in "
                          "2 feature(s)/row(s))")


def test_missing_reference_date_skips_the_row():
    result = readers.read_geojson(collection(
        feature({"area_id": "a", "down_fn_hh_alle_50": 90, "stichtag": "2025-12"}),
        feature({"area_id": "b", "down_fn_hh_alle_50": 80}),
        feature({"area_id": "c", "down_fn_hh_alle_50": 80, "stichtag": "irgendwann"})), opts())
    assert [r.area_id for r in result.records] == ["a"]
    assert [s.reason for s in result.skipped] == [
        "missing reference date", "invalid reference date: 'irgendwann'"]


def test_configured_reference_date_fills_in_but_the_row_wins():
    result = readers.read_geojson(collection(
        feature({"area_id": "a", "down_fn_hh_alle_50": 90, "stichtag": "2025-12"}),
        feature({"area_id": "b", "down_fn_hh_alle_50": 80})), opts(reference_date="2025-06"))
    assert [r.reference_date for r in result.records] == ["2025-12-31", "2025-06-30"]


def test_duplicate_areas_keep_the_first():
    result = readers.read_geojson(collection(
        feature({"area_id": "a", "down_fn_hh_alle_50": 90}),
        feature({"area_id": "a", "down_fn_hh_alle_50": 10}),
        feature({"area_id": "a", "down_fn_hh_alle_50": 10, "stichtag": "2025-12"})),
        opts(reference_date="2025-06"))
    assert [(r.area_id, r.measures["down_fn_hh_alle_50"]) for r in result.records] == [
        ("a", 90), ("a", 10)]
    skipped, = result.skipped
    assert skipped.reason.startswith("duplicate area: a at 2025-06-30") and skipped.row == 2


def test_missing_area_identifier():
    result = readers.read_geojson(collection(feature({"down_fn_hh_alle_50": 90})),
                             opts(reference_date="2025-06"))
    assert not result.records and result.skipped[0].reason == "missing area identifier"


def test_feature_id_is_the_fallback_identifier():
    doc = collection({**feature({"down_fn_hh_alle_50": 90}), "id": 7})
    result = readers.read_geojson(doc, opts(reference_date="2025-06"))
    assert result.records[0].area_id == "7"


def test_fields_mapping_renames_another_scheme():
    result = readers.read_geojson(collection(feature({
        "OT_NR": "12", "OT_NAME": "Buer", "GIGABIT_PCT": "61,5", "HH": 10, "DATUM": "12/2025"})),
        opts(fields={"ot_nr": "area_id", "OT_NAME": "area_name",
                     "GIGABIT_PCT": "down_fn_hh_alle_1000", "DATUM": "reference_date"}))
    record, = result.records
    assert (record.area_id, record.area_name, record.reference_date) == ("12", "Buer", "2025-12-31")
    assert record.measures == {"down_fn_hh_alle_1000": 61.5}


def test_not_a_feature_collection():
    with pytest.raises(ParseError, match="FeatureCollection"):
        readers.read_geojson(b'{"type": "Topology"}', opts())
    with pytest.raises(ParseError, match="not valid JSON"):
        readers.read_geojson(b"{broken", opts())


def test_reprojection_from_epsg_25832_named_in_the_document():
    x, y = TO_UTM.transform(7.05, 51.55)
    doc = collection(feature({"area_id": "a", "down_fn_hh_alle_50": 1},
                             {"type": "Point", "coordinates": [x, y]}),
                     crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}})
    point = readers.read_geojson(doc, opts(reference_date="2025-06")).records[0].geometry
    assert point.x == pytest.approx(7.05, abs=1e-7) and point.y == pytest.approx(51.55, abs=1e-7)


def test_reprojection_from_configured_crs():
    x, y = TO_UTM.transform(7.05, 51.55)
    doc = collection(feature({"area_id": "a", "down_fn_hh_alle_50": 1},
                             {"type": "Point", "coordinates": [x, y]}))
    point = readers.read_geojson(doc, opts(reference_date="2025-06", crs="EPSG:25832")).records[0].geometry
    assert point.x == pytest.approx(7.05, abs=1e-7)


def test_invalid_polygon_is_repaired_and_reported():
    bowtie = {"type": "Polygon", "coordinates": [[[7, 51.5], [7.01, 51.51], [7.01, 51.5],
                                                  [7, 51.51], [7, 51.5]]]}
    result = readers.read_geojson(collection(feature({"area_id": "a", "down_fn_hh_alle_50": 1}, bowtie)),
                             opts(reference_date="2025-06"))
    geometry = result.records[0].geometry
    assert geometry.is_valid and geometry.area > 0
    assert result.notes == [result.notes[0]] and "invalid polygon repaired" in result.notes[0]
    assert result.notes[0].startswith("area a:")


def test_esri_rings_with_a_hole_become_a_geojson_polygon():
    outer = [[0, 0], [0, 10], [10, 10], [10, 0], [0, 0]]  # clockwise
    hole = [[2, 2], [4, 2], [4, 4], [2, 4], [2, 2]]  # counter-clockwise
    other = [[20, 0], [20, 5], [25, 5], [25, 0], [20, 0]]
    assert esri_to_geojson_geometry({"rings": [outer, hole]}) == {
        "type": "Polygon", "coordinates": [outer, hole]}
    multi = esri_to_geojson_geometry({"rings": [outer, hole, other]})
    assert multi["type"] == "MultiPolygon"
    assert shapely.geometry.shape(multi).area == pytest.approx(100 - 4 + 25)
    assert esri_to_geojson_geometry({"x": 1, "y": 2}) == {"type": "Point", "coordinates": [1, 2]}
    assert esri_to_geojson_geometry(None) is None


def test_ogc_api_follows_next_links():
    pages = {
        "https://ogc.example/collections/bb/items?limit=1000": collection(
            feature({"area_id": "a", "down_fn_hh_alle_50": 1}),
            links=[{"rel": "self", "href": "x"},
                   {"rel": "next", "href": "https://ogc.example/items?page=2",
                    "type": "application/geo+json"}]),
        "https://ogc.example/items?page=2": collection(feature({"area_id": "b",
                                                                "down_fn_hh_alle_50": 2})),
    }
    o = opts(reference_date="2025-06")
    docs, calls = pages_of("ogcapi", "https://ogc.example/collections/bb/items", pages.__getitem__,
                           broadband.BroadbandCoverageHarvester().paging_options({}))
    result = readers.collect_pages(docs, o)
    assert [r.area_id for r in result.records] == ["a", "b"]
    assert calls == ["https://ogc.example/collections/bb/items?limit=1000",
                     "https://ogc.example/items?page=2"]
    assert result.stats["pages"] == 2


def test_ogc_api_paging_loop_is_an_error():
    page = collection(feature({"area_id": "a"}),
                      links=[{"rel": "next", "href": "https://ogc.example/items"}])
    with pytest.raises(Exception, match="loops"):
        pages_of("ogcapi", "https://ogc.example/items", lambda url: page,
                 paging.PagingOptions())


def test_wfs_pages_by_start_index():
    features = [feature({"area_id": str(i), "down_fn_hh_alle_50": i}) for i in range(5)]
    seen = []

    def answer(url):
        params = dict(p.split("=") for p in url.split("?")[1].split("&"))
        seen.append(int(params["startIndex"]))
        start, count = int(params["startIndex"]), int(params["count"])
        return collection(*features[start:start + count], numberMatched=5)
    docs, _ = pages_of("wfs", "https://wfs.example/wfs?service=WFS&request=GetFeature&typeNames=bb",
                       answer, broadband.BroadbandCoverageHarvester().paging_options(
                           {"page_size": 2}))
    result = readers.collect_pages(docs, opts(reference_date="2025-06", page_size=2))
    assert len(result.records) == 5 and seen == [0, 2, 4]


def test_arcgis_esri_json_pages_while_exceeded_transfer_limit():
    rings = [[[7.0, 51.5], [7.0, 51.51], [7.01, 51.51], [7.01, 51.5], [7.0, 51.5]]]
    rows = [{"attributes": {"AREA_ID": f"s{i}", "DOWN_FN_HH_ALLE_50": 50 + i,
                            "STICHTAG": 1751241600000}, "geometry": {"rings": rings}}
            for i in range(3)]
    seen = []

    def answer(url):
        base, query = url.split("?")
        params = dict(p.split("=") for p in query.split("&"))
        assert base == "https://gis.example/arcgis/rest/services/bb/FeatureServer/0/query"
        assert params["outFields"] == "%2A" and params["where"] == "1%3D1" and params["f"] == "json"
        seen.append(int(params["resultOffset"]))
        start, count = int(params["resultOffset"]), int(params["resultRecordCount"])
        return {"features": rows[start:start + count], "spatialReference": {"wkid": 4326},
                "exceededTransferLimit": start + count < len(rows)}
    config = {"arcgis_format": "json", "page_size": 2}
    docs, _ = pages_of("arcgis", "https://gis.example/arcgis/rest/services/bb/FeatureServer/0",
                       answer, broadband.BroadbandCoverageHarvester().paging_options(config))
    result = readers.collect_pages(docs, opts(**config))
    assert seen == [0, 2]
    assert [r.area_id for r in result.records] == ["s0", "s1", "s2"]
    assert result.records[0].reference_date == "2025-06-30"
    assert result.records[0].geometry.geom_type == "Polygon"


def test_arcgis_geojson_and_error_answers():
    docs, _ = pages_of("arcgis", "https://gis.example/FeatureServer/0/query",
                       lambda url: collection(feature({"area_id": "a", "down_fn_hh_alle_50": 1})),
                       paging.PagingOptions())
    assert len(readers.collect_pages(docs, opts(reference_date="2025-06")).records) == 1
    with pytest.raises(ParseError, match="ArcGIS error 400: Invalid query"):
        pages_of("arcgis", "https://gis.example/FeatureServer/0",
                 lambda url: {"error": {"code": 400, "message": "Invalid query"}},
                 paging.PagingOptions())


def test_csv_in_german_excel_style():
    text = ("Gebiet_ID;Name;Stichtag;Haushalte;down_fn_hh_alle_50;down_fn_hh_alle_1000\n"
            "st-a;Altstadt;30.06.2025;1.200;93,5;61,0\n"
            "st-a;Altstadt;31.12.2025;1.210;95,0;70,2\n"
            ";;;;;\n"
            "st-b;Bülse;2025-12;800;150;10\n")
    result = readers.read_table_csv(text.encode("cp1252"), opts())
    assert [(r.area_id, r.reference_date, r.households) for r in result.records] == [
        ("st-a", "2025-06-30", 1200), ("st-a", "2025-12-31", 1210)]
    skipped, = result.skipped
    assert skipped.row == 5 and skipped.feature_id == "st-b"
    assert skipped.reason.startswith("percentage outside 0-100")
    assert result.stats["rows"] == 3


def test_csv_without_scheme_columns_is_an_error():
    with pytest.raises(ParseError, match="no down_fn_hh"):
        readers.read_table_csv(b"a,b\n1,2\n", opts())


def test_xlsx_rows():
    book = Workbook()
    sheet = book.active
    sheet.title = "Daten"
    sheet.append(["area_id", "area_name", "reference_date", "households", "down_fn_hh_alle_50"])
    import datetime as dt
    sheet.append(["st-a", "Altstadt", dt.datetime(2025, 6, 30), 100, 90.5])
    sheet.append(["st-a", "Altstadt", None, 100, 90.5])
    buffer = io.BytesIO()
    book.save(buffer)
    result = readers.read_xlsx(buffer.getvalue(), opts(sheet="Daten"))
    assert [(r.area_id, r.reference_date) for r in result.records] == [("st-a", "2025-06-30")]
    assert result.skipped[0].reason == "missing reference date" and result.skipped[0].row == 3
    with pytest.raises(ParseError, match="sheet 'Tabelle1' not found"):
        readers.read_xlsx(buffer.getvalue(), opts(sheet="Tabelle1"))
    with pytest.raises(ParseError, match="not a readable XLSX"):
        readers.read_xlsx(b"PK\x03\x04 broken", opts())


# ---------------------------------------------------------------- hostile input (issue 12)

def _workbook(rows: list[list]) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(["area_id", "reference_date", "down_fn_hh_alle_50", "note"])
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def test_an_xlsx_that_unpacks_to_more_than_the_limit_is_refused_before_it_is_read():
    """Finding 5: the byte limit applied to the packed file only (a 656 KB
    workbook unpacked to a 300 MB string table). The ZIP directory decides."""
    data = _workbook([[f"st-{i}", "2025-06", 50, "x" * 30_000] for i in range(200)])
    assert len(data) < 100_000  # 6 MB unpacked
    with pytest.raises(ParseError, match=r"unpacks \d{3,} times its packed size.*xlsx_max_ratio"):
        readers.read_xlsx(data, opts())
    plain = _workbook([["st-a", "2025-06", 50, f"Zeile {i}"] for i in range(2000)])
    assert len(readers.read_xlsx(plain, opts()).records) == 1  # one area, duplicates skipped
    with pytest.raises(ParseError, match=r"unpacks to \d+ bytes, more than 50000 .*"
                                         r"xlsx_max_unpacked_bytes"):
        readers.read_xlsx(plain, opts(), limits.ParseLimits(xlsx_max_unpacked_bytes=50_000))


def _star(vertices: int, lon: float = 7.05, lat: float = 51.55) -> dict:
    """A self-intersecting star: every edge crosses nearly every other."""
    import math
    k = vertices // 2 * 2 + 1
    ring = [[lon + 0.01 * math.cos(2 * math.pi * i * (k // 2) / k),
             lat + 0.01 * math.sin(2 * math.pi * i * (k // 2) / k)] for i in range(k)]
    return {"type": "Polygon", "coordinates": [[*ring, ring[0]]]}


def test_a_star_polygon_is_a_skipped_row_before_make_valid_runs():
    """Finding 4: make_valid on a 20,000-vertex star ran 162 s and asked GEOS
    for 25.7 GB. Too complex to repair: skipped, with the reason, at once."""
    import time
    started = time.monotonic()
    result = readers.read_geojson(collection(
        feature({"area_id": "ok", "down_fn_hh_alle_50": 50}, _star(40)),
        feature({"area_id": "star", "down_fn_hh_alle_50": 50}, _star(20_000))),
        opts(reference_date="2025-06"))
    assert time.monotonic() - started < 10
    assert [r.area_id for r in result.records] == ["ok"]  # a small star is still repaired
    assert result.records[0].geometry.is_valid and result.records[0].geometry.area > 0
    skipped, = result.skipped
    assert skipped.feature_id == "star"
    assert skipped.reason.startswith("invalid polygon too complex to repair (20001 vertices")


def test_vertex_limits_per_feature_and_per_source():
    small = limits.ParseLimits(max_feature_vertices=100, max_source_vertices=200)
    features = [feature({"area_id": f"a{i}", "down_fn_hh_alle_50": 50},
                        {"type": "Polygon", "coordinates": [[
                            [7 + j * 1e-4, 51.5 + (j % 2) * 1e-4] for j in range(n)]
                            + [[7, 51.5]]]})
                for i, n in enumerate([60, 150, 60])]
    result = readers.read_geojson(collection(*features), opts(reference_date="2025-06"), small)
    assert [r.area_id for r in result.records] == ["a0", "a2"]
    assert result.skipped[0].reason.startswith("geometry with 151 vertices (more than 100")
    with pytest.raises(ParseError, match="more than 200 vertices in all.*max_source_vertices"):
        readers.read_geojson(collection(*features, *features), opts(reference_date="2025-06"),
                             small)
