"""Unit tests of the pure broadband readers, validators and aggregation.

No database, no network: every reader gets bytes or a stub fetch function.
The GeoPackages are written here with sqlite3 and a hand-made GeoPackage
binary header (independent of the reader's own encoder)."""
from __future__ import annotations

import csv
import io
import json
import sqlite3
import struct

import pytest
import shapely
from openpyxl import Workbook
from pyproj import Transformer

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters import broadband
from ckanext.gelsenkirchen.harvesters import broadband_formats as bf
from ckanext.gelsenkirchen.harvesters.source import ParseError, paging
from ckanext.gelsenkirchen.harvesters.source.esri import esri_to_geojson_geometry

from .paging_support import pages_of

TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)


# ---------------------------------------------------------------- helpers

def square(lon: float, lat: float, size: float = 0.005) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}


def feature(props: dict, geometry: dict | None = None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(*features: dict, **extra) -> dict:
    return {"type": "FeatureCollection", "features": list(features), **extra}


def gpkg_blob(geom, srs_id: int = 25832, envelope: bool = True, big_endian: bool = False,
              empty: bool = False) -> bytes:
    """A GeoPackage binary geometry: 'GP', version 0, flags, srs_id,
    envelope (minx, maxx, miny, maxy), then WKB (GeoPackage spec 2.1.3)."""
    order = ">" if big_endian else "<"
    flags = (0 if big_endian else 1) | (0b010 if envelope else 0) | (0b1_0000 if empty else 0)
    header = b"GP" + bytes([0, flags]) + struct.pack(order + "i", srs_id)
    if envelope:
        minx, miny, maxx, maxy = geom.bounds
        header += struct.pack(order + "4d", minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geom, byte_order=0 if big_endian else 1)


# The boundaries file's rule (geography.py): the property "code" names the area.
BOUNDARIES = collection(
    feature({"code": "bezirk-mitte"}, square(7.0, 51.5, 0.1)),
    feature({"code": "stadtteil-altstadt"}, square(7.0, 51.5, 0.05)),
    feature({"code": "stadtteil-buer", "name": "ignored"}, square(7.05, 51.5, 0.05)),
    feature({"code": "st-x", "name": "not an area of the city"}, square(7.0, 51.5, 0.05)),
)


def stadtteile() -> list:
    return geography.Boundaries.from_geojson(BOUNDARIES).of_level("stadtteil")


def utm_cell(lon: float, lat: float, size: float = 100.0) -> shapely.Polygon:
    """A 100 m grid cell (EPSG:25832) whose centroid is at lon/lat."""
    x, y = TO_UTM.transform(lon, lat)
    return shapely.box(x - size / 2, y - size / 2, x + size / 2, y + size / 2)


def write_gpkg(cells: list[dict], *, srs_id: int = 25832, table: str = "grid",
               extra_layers: tuple[str, ...] = (), columns: list[str] | None = None,
               drop_tables: tuple[str, ...] = ()) -> bytes:
    """A GeoPackage with one feature table of grid cells; each cell dict has
    'geom' (shapely, in the layer's CRS) and attribute values."""
    con = sqlite3.connect(":memory:")
    con.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    con.execute("""CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,
        srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""")
    con.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", [
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
        ("WGS 84", 4326, "EPSG", 4326, "GEOGCS[...]", None),
        ("ETRS89 / UTM zone 32N", 25832, "EPSG", 25832, "PROJCS[...]", None)])
    con.execute("""CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT, description TEXT DEFAULT '', last_change DATETIME, min_x DOUBLE,
        min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER)""")
    con.execute("""CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT,
        geometry_type_name TEXT, srs_id INTEGER, z TINYINT, m TINYINT)""")
    if columns is None:
        columns = sorted({k for c in cells for k in c if k != "geom"})
    for name in (table, *extra_layers):
        cols = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'CREATE TABLE "{name}" (fid INTEGER PRIMARY KEY, geom BLOB'
                    + (f", {cols})" if columns else ")"))
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                    "VALUES (?, 'features', ?, ?)", (name, name, srs_id))
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POLYGON', ?, 0, 0)",
                    (name, srs_id))
    placeholders = ", ".join("?" for _ in range(len(columns) + 1))
    con.executemany(
        f'INSERT INTO "{table}" (geom{"".join(", " + chr(34) + c + chr(34) for c in columns)}) '
        f"VALUES ({placeholders})",
        [(c["geom"] if isinstance(c["geom"], bytes | None) else gpkg_blob(c["geom"], srs_id),
          *[c.get(k) for k in columns]) for c in cells])
    for name in drop_tables:
        con.execute(f'DROP TABLE "{name}"')
    con.commit()
    data = con.serialize()
    con.close()
    return data


def opts(**config) -> bf.BroadbandOptions:
    return broadband.parse_options(config)


# ---------------------------------------------------------------- scheme and values

def test_scheme_has_every_technology_and_speed():
    assert len(bf.MEASURES) == 7 * 8
    assert "down_fn_hh_ftthb_1000" in bf.MEASURES
    assert "down_fn_hh_alle_10" in bf.MEASURES


@pytest.mark.parametrize("raw, expected", [
    ("2025-06-30", "2025-06-30"), ("2025-06", "2025-06-30"), ("2025-12", "2025-12-31"),
    ("06/2025", "2025-06-30"), ("30.06.2025", "2025-06-30"), ("Juni 2025", "2025-06-30"),
    ("Dezember 2024", "2024-12-31"), ("2025-06-30T00:00:00Z", "2025-06-30"),
    (1751241600000, "2025-06-30"), ("", None), (None, None), ("2025-13", None),
    ("soon", None), (2025, None),
])
def test_reference_dates_are_normalised(raw, expected):
    assert bf.normalise_reference_date(raw) == expected


# ---------------------------------------------------------------- configuration

def test_valid_configuration():
    o = opts(format="gpkg", fields={"gig": "down_fn_hh_alle_1000"}, reference_date="2025-06",
             crs="EPSG:25832", layer="grid", attribution="Quelle: X", page_size=500)
    assert o.format == "gpkg" and o.reference_date == "2025-06-30"
    assert o.aliases["gig"] == "down_fn_hh_alle_1000"
    assert o.attribution == "Quelle: X"


def test_default_attribution_names_the_atlas():
    assert "Breitbandatlas | Gigabit-Grundbuch" in opts().attribution


@pytest.mark.parametrize("config, message", [
    ({"format": "shapefile"}, "format"),
    ({"fields": {"x": "down_fn_hh_warp_50"}}, "fields"),
    ({"fields": ["x"]}, "fields"),
    ({"reference_date": "bald"}, "reference_date"),
    ({"crs": "EPSG:999999"}, "crs"),
    ({"area_level": "bundesland"}, "area_level"),
    ({"page_size": 0}, "page_size"),
    ({"delimiter": ";;"}, "delimiter"),
    ({"arcgis_format": "pbf"}, "arcgis_format"),
])
def test_invalid_configuration_names_the_key(config, message):
    with pytest.raises(ValueError, match=message):
        broadband.parse_options(config)


# ---------------------------------------------------------------- validation

def test_valid_record_and_household_count():
    result = bf.read_geojson(collection(feature({
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
    result = bf.read_geojson(collection(
        feature({"area_id": "ok", "down_fn_hh_alle_50": 50}),
        feature({"area_id": "bad", **props})), opts(reference_date="2025-06"))
    assert [r.area_id for r in result.records] == ["ok"]
    skipped, = result.skipped
    assert skipped.reason.startswith(reason)
    assert skipped.row == 2 and skipped.feature_id == "bad"


def test_speed_classes_of_different_technologies_are_independent():
    result = bf.read_geojson(collection(feature({
        "area_id": "a", "down_fn_hh_alle_50": 90, "down_fn_hh_alle_1000": 40,
        "down_fn_hh_ftth_50": 30, "down_fn_hh_ftth_1000": 30})), opts(reference_date="2025-06"))
    assert len(result.records) == 1 and not result.skipped


def test_unknown_technology_code_is_listed_and_ignored():
    result = bf.read_geojson(collection(
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
    result = bf.read_geojson(collection(
        feature({"area_id": "a", "down_fn_hh_alle_50": 90, "stichtag": "2025-12"}),
        feature({"area_id": "b", "down_fn_hh_alle_50": 80}),
        feature({"area_id": "c", "down_fn_hh_alle_50": 80, "stichtag": "irgendwann"})), opts())
    assert [r.area_id for r in result.records] == ["a"]
    assert [s.reason for s in result.skipped] == [
        "missing reference date", "invalid reference date: 'irgendwann'"]


def test_configured_reference_date_fills_in_but_the_row_wins():
    result = bf.read_geojson(collection(
        feature({"area_id": "a", "down_fn_hh_alle_50": 90, "stichtag": "2025-12"}),
        feature({"area_id": "b", "down_fn_hh_alle_50": 80})), opts(reference_date="2025-06"))
    assert [r.reference_date for r in result.records] == ["2025-12-31", "2025-06-30"]


def test_duplicate_areas_keep_the_first():
    result = bf.read_geojson(collection(
        feature({"area_id": "a", "down_fn_hh_alle_50": 90}),
        feature({"area_id": "a", "down_fn_hh_alle_50": 10}),
        feature({"area_id": "a", "down_fn_hh_alle_50": 10, "stichtag": "2025-12"})),
        opts(reference_date="2025-06"))
    assert [(r.area_id, r.measures["down_fn_hh_alle_50"]) for r in result.records] == [
        ("a", 90), ("a", 10)]
    skipped, = result.skipped
    assert skipped.reason.startswith("duplicate area: a at 2025-06-30") and skipped.row == 2


def test_missing_area_identifier():
    result = bf.read_geojson(collection(feature({"down_fn_hh_alle_50": 90})),
                             opts(reference_date="2025-06"))
    assert not result.records and result.skipped[0].reason == "missing area identifier"


def test_feature_id_is_the_fallback_identifier():
    doc = collection({**feature({"down_fn_hh_alle_50": 90}), "id": 7})
    result = bf.read_geojson(doc, opts(reference_date="2025-06"))
    assert result.records[0].area_id == "7"


def test_fields_mapping_renames_another_scheme():
    result = bf.read_geojson(collection(feature({
        "OT_NR": "12", "OT_NAME": "Buer", "GIGABIT_PCT": "61,5", "HH": 10, "DATUM": "12/2025"})),
        opts(fields={"ot_nr": "area_id", "OT_NAME": "area_name",
                     "GIGABIT_PCT": "down_fn_hh_alle_1000", "DATUM": "reference_date"}))
    record, = result.records
    assert (record.area_id, record.area_name, record.reference_date) == ("12", "Buer", "2025-12-31")
    assert record.measures == {"down_fn_hh_alle_1000": 61.5}


def test_not_a_feature_collection():
    with pytest.raises(ParseError, match="FeatureCollection"):
        bf.read_geojson(b'{"type": "Topology"}', opts())
    with pytest.raises(ParseError, match="not valid JSON"):
        bf.read_geojson(b"{broken", opts())


# ---------------------------------------------------------------- geometry

def test_reprojection_from_epsg_25832_named_in_the_document():
    x, y = TO_UTM.transform(7.05, 51.55)
    doc = collection(feature({"area_id": "a", "down_fn_hh_alle_50": 1},
                             {"type": "Point", "coordinates": [x, y]}),
                     crs={"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}})
    point = bf.read_geojson(doc, opts(reference_date="2025-06")).records[0].geometry
    assert point.x == pytest.approx(7.05, abs=1e-7) and point.y == pytest.approx(51.55, abs=1e-7)


def test_reprojection_from_configured_crs():
    x, y = TO_UTM.transform(7.05, 51.55)
    doc = collection(feature({"area_id": "a", "down_fn_hh_alle_50": 1},
                             {"type": "Point", "coordinates": [x, y]}))
    point = bf.read_geojson(doc, opts(reference_date="2025-06", crs="EPSG:25832")).records[0].geometry
    assert point.x == pytest.approx(7.05, abs=1e-7)


def test_invalid_polygon_is_repaired_and_reported():
    bowtie = {"type": "Polygon", "coordinates": [[[7, 51.5], [7.01, 51.51], [7.01, 51.5],
                                                  [7, 51.51], [7, 51.5]]]}
    result = bf.read_geojson(collection(feature({"area_id": "a", "down_fn_hh_alle_50": 1}, bowtie)),
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


# ---------------------------------------------------------------- paging

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
    result = bf.collect_pages(docs, o)
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
    result = bf.collect_pages(docs, opts(reference_date="2025-06", page_size=2))
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
    result = bf.collect_pages(docs, opts(**config))
    assert seen == [0, 2]
    assert [r.area_id for r in result.records] == ["s0", "s1", "s2"]
    assert result.records[0].reference_date == "2025-06-30"
    assert result.records[0].geometry.geom_type == "Polygon"


def test_arcgis_geojson_and_error_answers():
    docs, _ = pages_of("arcgis", "https://gis.example/FeatureServer/0/query",
                       lambda url: collection(feature({"area_id": "a", "down_fn_hh_alle_50": 1})),
                       paging.PagingOptions())
    assert len(bf.collect_pages(docs, opts(reference_date="2025-06")).records) == 1
    with pytest.raises(ParseError, match="ArcGIS error 400: Invalid query"):
        pages_of("arcgis", "https://gis.example/FeatureServer/0",
                 lambda url: {"error": {"code": 400, "message": "Invalid query"}},
                 paging.PagingOptions())


# ---------------------------------------------------------------- tables

def test_csv_in_german_excel_style():
    text = ("Gebiet_ID;Name;Stichtag;Haushalte;down_fn_hh_alle_50;down_fn_hh_alle_1000\n"
            "st-a;Altstadt;30.06.2025;1.200;93,5;61,0\n"
            "st-a;Altstadt;31.12.2025;1.210;95,0;70,2\n"
            ";;;;;\n"
            "st-b;Bülse;2025-12;800;150;10\n")
    result = bf.read_table_csv(text.encode("cp1252"), opts())
    assert [(r.area_id, r.reference_date, r.households) for r in result.records] == [
        ("st-a", "2025-06-30", 1200), ("st-a", "2025-12-31", 1210)]
    skipped, = result.skipped
    assert skipped.row == 5 and skipped.feature_id == "st-b"
    assert skipped.reason.startswith("percentage outside 0-100")
    assert result.stats["rows"] == 3


def test_csv_without_scheme_columns_is_an_error():
    with pytest.raises(ParseError, match="no down_fn_hh"):
        bf.read_table_csv(b"a,b\n1,2\n", opts())


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
    result = bf.read_xlsx(buffer.getvalue(), opts(sheet="Daten"))
    assert [(r.area_id, r.reference_date) for r in result.records] == [("st-a", "2025-06-30")]
    assert result.skipped[0].reason == "missing reference date" and result.skipped[0].row == 3
    with pytest.raises(ParseError, match="sheet 'Tabelle1' not found"):
        bf.read_xlsx(buffer.getvalue(), opts(sheet="Tabelle1"))
    with pytest.raises(ParseError, match="not a readable XLSX"):
        bf.read_xlsx(b"PK\x03\x04 broken", opts())


# ---------------------------------------------------------------- GeoPackage

def grid_cells() -> list[dict]:
    """Altstadt: 10 hh at 100 %, 30 hh at 50 %; Buer: 60 hh at 20 %;
    one cell of a neighbouring municipality."""
    base = {"ags": "05513000", "stichtag": "2025-06"}
    return [
        {**base, "geom": utm_cell(7.01, 51.51), "households": 10,
         "down_fn_hh_alle_50": 100.0, "down_fn_hh_alle_1000": 90.0, "schulen_glasfaser": 1},
        {**base, "geom": utm_cell(7.02, 51.52), "households": 30,
         "down_fn_hh_alle_50": 50.0, "down_fn_hh_alle_1000": 10.0},
        {**base, "geom": utm_cell(7.07, 51.51), "households": 60,
         "down_fn_hh_alle_50": 20.0, "down_fn_hh_alle_1000": 0.0, "schulen_glasfaser": 2},
        {**base, "ags": "05562000", "geom": utm_cell(7.08, 51.52), "households": 999,
         "down_fn_hh_alle_50": 0.0, "down_fn_hh_alle_1000": 0.0},
    ]


def test_gpkg_geometry_header_is_stripped():
    point = shapely.Point(1, 2)
    for big_endian in (False, True):
        for envelope in (False, True):
            wkb = bf.gpkg_geometry_to_wkb(gpkg_blob(point, envelope=envelope,
                                                    big_endian=big_endian))
            assert shapely.from_wkb(wkb).equals(point)
    assert bf.gpkg_geometry_to_wkb(gpkg_blob(point, empty=True)) is None
    with pytest.raises(ParseError, match="GP"):
        bf.gpkg_geometry_to_wkb(shapely.to_wkb(point))


def test_gpkg_grid_is_aggregated_household_weighted():
    grid, parsed = bf.read_geopackage(write_gpkg(grid_cells()), opts())
    assert parsed.stats["cells"] == 4 and parsed.stats["layer"] == "grid"
    boundaries = stadtteile()
    assert [(b.code, b.name) for b in boundaries] == [("stadtteil-altstadt", "Altstadt"),
                                                      ("stadtteil-buer", "Buer")]
    result = bf.aggregate_grid(grid, parsed, boundaries, opts())
    by_id = {r.area_id: r for r in result.records}
    assert set(by_id) == {"stadtteil-altstadt", "stadtteil-buer", "05513000"}
    altstadt, buer = by_id["stadtteil-altstadt"], by_id["stadtteil-buer"]
    city = by_id["05513000"]
    # hand-computed: (10*100 + 30*50) / 40 = 62.5; (10*90 + 30*10) / 40 = 30
    assert altstadt.measures == {"down_fn_hh_alle_50": 62.5, "down_fn_hh_alle_1000": 30.0}
    assert altstadt.households == 40 and altstadt.aggregated_from == 2
    assert altstadt.area_name == "Altstadt" and altstadt.reference_date == "2025-06-30"
    assert altstadt.counts == {"schools_fibre": 1}
    assert buer.measures == {"down_fn_hh_alle_50": 20.0, "down_fn_hh_alle_1000": 0.0}
    # city: (10*100 + 30*50 + 60*20) / 100 = 37; (900 + 300 + 0) / 100 = 12
    assert city.measures == {"down_fn_hh_alle_50": 37.0, "down_fn_hh_alle_1000": 12.0}
    assert city.households == 100 and city.area_level == "stadt" and city.aggregated_from == 3
    assert city.counts == {"schools_fibre": 3}
    assert any("another ags" in n for n in result.notes)


def test_gpkg_without_households_weights_each_cell():
    cells = [{k: v for k, v in c.items() if k != "households"} for c in grid_cells()[:2]]
    grid, parsed = bf.read_geopackage(write_gpkg(cells), opts())
    result = bf.aggregate_grid(grid, parsed, stadtteile(), opts())
    altstadt = next(r for r in result.records if r.area_id == "stadtteil-altstadt")
    assert altstadt.measures["down_fn_hh_alle_50"] == 75.0 and altstadt.households is None


def test_gpkg_invalid_cells_are_skipped_and_cells_outside_reported():
    cells = grid_cells()
    cells.append({**cells[0], "down_fn_hh_alle_50": 120.0})
    cells.append({**cells[0], "geom": utm_cell(7.2, 51.7)})  # in the city, in no Stadtteil
    grid, parsed = bf.read_geopackage(write_gpkg(cells), opts())
    assert parsed.skipped[0].row == 5
    assert parsed.skipped[0].reason.startswith("percentage outside 0-100")
    result = bf.aggregate_grid(grid, parsed, stadtteile(), opts())
    assert any("1 city cell(s) lie in no Stadtteil" in n for n in result.notes)
    city = next(r for r in result.records if r.area_level == "stadt")
    assert city.aggregated_from == 4


def test_gpkg_two_reference_dates_give_rows_for_each():
    cells = grid_cells()[:3] + [{**c, "stichtag": "2025-12"} for c in grid_cells()[:3]]
    grid, parsed = bf.read_geopackage(write_gpkg(cells), opts())
    result = bf.aggregate_grid(grid, parsed, stadtteile(), opts())
    assert sorted({r.reference_date for r in result.records}) == ["2025-06-30", "2025-12-31"]
    assert len(result.records) == 6


def test_gpkg_layer_choice():
    data = write_gpkg(grid_cells(), extra_layers=("other",))
    with pytest.raises(ParseError, match="several feature layers"):
        bf.read_geopackage(data, opts())
    grid, _ = bf.read_geopackage(data, opts(layer="grid"))
    assert grid.layer == "grid"
    with pytest.raises(ParseError, match="layer 'nope' not found"):
        bf.read_geopackage(data, opts(layer="nope"))


@pytest.mark.parametrize("data, message", [
    (b"", "not an SQLite"),
    (b"PK\x03\x04 a zip file", "not an SQLite"),
    (b"SQLite format 3\x00" + b"\xff" * 2000, "corrupt"),
])
def test_corrupt_gpkg_is_a_clear_error(data, message):
    with pytest.raises(ParseError, match=message):
        bf.read_geopackage(data, opts())


def test_truncated_gpkg_is_a_clear_error():
    data = write_gpkg(grid_cells())
    with pytest.raises(ParseError):
        bf.read_geopackage(data[: len(data) // 2], opts())


def test_gpkg_with_unexpected_layout():
    with pytest.raises(ParseError, match="gpkg_contents"):
        bf.read_geopackage(write_gpkg(grid_cells(), drop_tables=("gpkg_contents",)), opts())
    with pytest.raises(ParseError, match="no 'ags' column"):
        bf.read_geopackage(write_gpkg([{k: v for k, v in c.items() if k != "ags"}
                                       for c in grid_cells()]), opts())
    with pytest.raises(ParseError, match="no down_fn_hh"):
        bf.read_geopackage(write_gpkg([{"geom": utm_cell(7, 51.5), "ags": "1"}]), opts())
    with pytest.raises(ParseError, match="srs_id 3035"):
        bf.read_geopackage(write_gpkg(grid_cells(), srs_id=3035), opts())


def test_gpkg_cell_with_a_broken_geometry_is_skipped():
    cells = grid_cells()
    cells[1] = {**cells[1], "geom": b"not a geometry"}
    grid, parsed = bf.read_geopackage(write_gpkg(cells), opts())
    assert len(grid.reference_dates) == 3
    assert parsed.skipped[0].row == 2 and "GP" in parsed.skipped[0].reason


def test_gpkg_corrupt_wkb_is_an_error():
    cells = grid_cells()
    cells[1] = {**cells[1], "geom": b"GP\x00\x01" + struct.pack("<i", 25832) + b"\x01\x03garbage"}
    with pytest.raises(ParseError, match="corrupt WKB"):
        bf.read_geopackage(write_gpkg(cells), opts())


# ---------------------------------------------------------------- city figures and output

def record(area_id, households, pct50, pct1000=None, date="2025-06-30", level="stadtteil", **counts):
    measures = {"down_fn_hh_alle_50": pct50}
    if pct1000 is not None:
        measures["down_fn_hh_alle_1000"] = pct1000
    return bf.AreaRecord(area_id=area_id, reference_date=date, area_level=level,
                         households=households, measures=measures, counts=counts)


def test_city_summary_is_household_weighted():
    records = [record("a", 1000, 90.0, 40.0, schools_fibre=2),
               record("b", 3000, 70.0, 80.0, schools_fibre=1, schools_no_fibre=1),
               record("a", 1000, 10.0, date="2024-12-31")]
    city = bf.city_summary(records)
    # (1000*90 + 3000*70) / 4000 = 75; (1000*40 + 3000*80) / 4000 = 70
    assert city.measures == {"down_fn_hh_alle_50": 75.0, "down_fn_hh_alle_1000": 70.0}
    assert city.households == 4000 and city.reference_date == "2025-06-30"
    assert city.counts == {"schools_fibre": 3, "schools_no_fibre": 1}


def test_city_summary_uses_the_source_city_row_and_the_finest_level():
    city_row = record("05513000", 9, 1.0, level="stadt")
    assert bf.city_summary([record("a", 1, 50.0), city_row]) is city_row
    mixed = [record("n", 100, 10.0, level="stadtbezirk"), record("a", 100, 50.0),
             record("b", None, 70.0)]
    assert bf.city_summary(mixed).measures["down_fn_hh_alle_50"] == 50.0
    no_households = [record("a", None, 50.0), record("b", None, 70.0)]
    assert bf.city_summary(no_households).measures["down_fn_hh_alle_50"] == 60.0


def test_city_rows_are_added_per_reference_date():
    records = [record("a", 1, 50.0), record("a", 1, 60.0, date="2025-12-31")]
    out = bf.with_city_rows(records)
    cities = [r for r in out if r.area_level == "stadt"]
    assert [(c.reference_date, c.measures["down_fn_hh_alle_50"]) for c in cities] == [
        ("2025-06-30", 50.0), ("2025-12-31", 60.0)]


def test_csv_and_geojson_files():
    """The files the harvester publishes: the CSV has every row and the
    columns some row uses, with the formula guard of every CSV download;
    the GeoJSON the areas with a polygon at the latest reference date."""
    a = broadband.record_to_row(record("=a", 1000, 90.0, 40.0))
    b = broadband.record_to_row(record("b", None, 70.0))
    rows = list(csv.DictReader(io.StringIO(broadband.rows_csv([a, b]).decode("utf-8"))))
    assert list(rows[0]) == ["area_id", "area_level", "reference_date", "households",
                             "down_fn_hh_alle_50", "down_fn_hh_alle_1000"]
    assert [r["area_id"] for r in rows] == ["'=a", "b"] and rows[1]["households"] == ""
    geometries = {"=a": square(7.0, 51.5)}
    doc = json.loads(broadband.rows_geojson([a, b], geometries, "Quelle: Test"))
    assert doc["attribution"] == "Quelle: Test" and len(doc["features"]) == 1
    assert doc["features"][0]["properties"]["down_fn_hh_alle_50"] == 90.0
