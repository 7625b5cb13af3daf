"""The WiFi readers and mapping: CSV, GeoJSON, meshviewer, vocabularies.

Pure: no database, no network."""
from __future__ import annotations

import pytest

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters.base import ParseContext
from ckanext.gelsenkirchen.harvesters.source import ParseError
from ckanext.gelsenkirchen.harvesters.source.jsondoc import load_json
from ckanext.gelsenkirchen.harvesters.wifi import mapping, readers

from . import support as ws

BOUNDARIES = geography.load_boundaries("ckanext.gelsenkirchen:data/boundaries-approximate.geojson")
CONTEXT = ParseContext(city_bbox=geography.expand_bbox(BOUNDARIES.bbox, 1000),
                       boundaries=BOUNDARIES,
                       source_name="quelle")


def _csv(body: bytes, **cfg):
    return readers.parse_csv(body, cfg, "quelle", CONTEXT)



def test_vocabularies_and_timestamps():
    assert mapping.normalize_backhaul("Glasfaser (FTTB)") == "fibre"
    assert mapping.normalize_backhaul("LTE") == "mobile"
    assert mapping.normalize_status("außer Betrieb") == "offline"
    assert mapping.normalize_status("") == "unknown"
    assert mapping.normalize_status("im Aufbau") == "im Aufbau"  # unknown values are kept
    assert mapping.normalize_placement("Außenbereich") == "outdoor"
    assert mapping.parse_timestamp("27.11.2025 14:05") == "2025-11-27T14:05:00"
    assert mapping.parse_timestamp("2025-11-27T14:05:00+01:00") == "2025-11-27T13:05:00"
    assert mapping.parse_timestamp(1764252300) == "2025-11-27T14:05:00"
    with pytest.raises(ValueError):
        mapping.parse_timestamp("gestern")


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_encodings_keep_umlauts(encoding):
    body = ws.city_csv([ws.city_row("GE-1", "Bürgerbüro Großer Saal")], encoding=encoding)
    snapshot = _csv(body)
    assert snapshot.rows[0]["name"] == "Bürgerbüro Großer Saal"
    assert snapshot.rows[0]["address"] == "Ahstraße 1"
    assert snapshot.meta["delimiter"] == ";"


def test_csv_comma_separated_lat_lon_with_decimal_point():
    body = b"id,name,lat,lon\nA,Platz,51.51,7.09\n"
    snapshot = _csv(body)
    assert snapshot.meta["delimiter"] == "," and snapshot.meta["crs"] == "EPSG:4326"
    assert (snapshot.rows[0]["latitude"], snapshot.rows[0]["longitude"]) == (51.51, 7.09)
    assert snapshot.rows[0]["stadtteil"] == "Altstadt" and snapshot.rows[0]["source_id"] == "quelle"


def test_csv_bad_rows_are_skipped_with_row_numbers():
    rows = [
        ws.city_row("GE-1", "gut"),
        ws.city_row("GE-2", "ohne X", x=""),
        ws.city_row("GE-3", "kaputtes X", x="36x7,1"),
        ws.city_row("GE-4", "Dortmund", 7.46, 51.51),
        ws.city_row("GE-1", "doppelt"),
        ws.city_row("GE-5", "zwei APs", aps="zwei"),
        ws.city_row("", "ohne ID"),
        "GE-6;zu kurz",
    ]
    snapshot = _csv(ws.city_csv(rows))
    assert [r["id"] for r in snapshot.rows] == ["GE-1"]
    skipped = {s.row: (s.feature_id, s.text("en")) for s in snapshot.report.skipped}
    assert skipped[3] == ("GE-2", "missing coordinates")
    assert skipped[4][1].startswith("unparseable coordinates: '36x7,1'")
    assert skipped[5][1].startswith("outside the city area")
    assert skipped[6][1] == "duplicate id: the same id is already in row 2"
    assert skipped[7][1] == "unparseable number: access_points 'zwei'"
    assert skipped[8] == (None, "missing id")
    assert skipped[9][1] == "wrong number of fields: 2 instead of 15"
    assert snapshot.report.records_read == 8 and snapshot.report.published == 1
    # stored as msgid and parameters: the operator page shows them in German
    german = {s.row: s.text("de") for s in snapshot.report.skipped}
    assert german[3] == "Koordinaten fehlen"
    assert german[6] == "doppelte ID: dieselbe ID steht schon in Zeile 2"
    assert german[9] == "falsche Anzahl Felder: 2 statt 15"


@pytest.mark.parametrize("body, message", [
    (b"ID;Name;X;Y\r\nGE-1;\"offen;1;2\r\n", "invalid CSV"),
    (b"ID;Name;X;Y\r\nGE-1;A;367000;5707000\r\nGE-2;B", "ends in the middle of row 3"),
    (b"ID;Name;Strasse\r\nGE-1;A;B\r\n", "no coordinate columns found"),
    (b"Name;X;Y\r\nA;367000;5707000\r\n", "no id column found"),
    (b"nur eine Spalte\r\nA\r\n", "only one column"),
    (b"", "empty"),
])
def test_broken_csv_is_a_parse_error(body, message):
    with pytest.raises(ParseError, match=message):
        _csv(body)


def test_csv_columns_mapping_names_a_missing_column():
    with pytest.raises(ParseError, match=r'"Kennung" named in columns.id'):
        _csv(b"ID;Name;X;Y\r\n", columns={"id": "Kennung"})


def test_geojson_legacy_crs_member_is_reprojected():
    x, y = 367900.0, 5708000.0
    page = {"type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
            "features": [{"type": "Feature", "id": 1, "geometry": {"type": "Point",
                                                                  "coordinates": [x, y]},
                          "properties": {"name": "A"}}]}
    snapshot = readers.parse_geojson_pages([page], {}, "q", CONTEXT)
    assert snapshot.meta["crs"] == "EPSG:25832"
    assert 7.0 < snapshot.rows[0]["longitude"] < 7.2 and snapshot.rows[0]["id"] == "1"


def test_geojson_identity_is_the_id_attribute_else_the_feature_id():
    """The rule the broadband harvester uses as well (source/jsondoc.py)."""
    page = ws.collection([
        {"type": "Feature", "id": "wlan.1", "geometry": {"type": "Point", "coordinates": [7.09, 51.51]},
         "properties": {"ID": "GE-1"}},
        {"type": "Feature", "id": "wlan.2", "geometry": {"type": "Point", "coordinates": [7.08, 51.51]},
         "properties": {"ID": ""}}])
    snapshot = readers.parse_geojson_pages([page], {}, "q", CONTEXT)
    assert [r["id"] for r in snapshot.rows] == ["GE-1", "wlan.2"]


def test_geojson_non_points_and_wrong_documents():
    page = ws.collection([{"type": "Feature", "id": "p", "geometry": {
        "type": "Polygon", "coordinates": [[[7, 51], [7.1, 51], [7, 51.1], [7, 51]]]},
        "properties": {}}])
    snapshot = readers.parse_geojson_pages([page], {}, "q", CONTEXT)
    assert snapshot.report.skipped[0].text("en").startswith("unsupported geometry: 'Polygon'")
    with pytest.raises(ParseError, match="not a GeoJSON FeatureCollection"):
        readers.parse_geojson_pages([{"type": "Feature"}], {}, "q", CONTEXT)
    with pytest.raises(ParseError, match="truncated"):
        load_json(b'{"type": "FeatureCollection", "features": [')


@pytest.mark.parametrize("member, message", [
    ({"type": "name", "properties": "EPSG:25832"}, "\"properties\" are not an object"),
    ({"type": "name", "properties": {"name": "+proj=longlat +nadgrids=/dev/zero"}},
     "PROJ strings"),
    ({"type": "name", "properties": {"name": {"code": 25832}}}, "not a name"),
])
def test_an_unreadable_crs_member_is_a_parse_error(member, message):
    """Issue 12, finding 7: AttributeError and ProjError escaped the reader."""
    page = {**ws.collection([]), "crs": member}
    with pytest.raises(ParseError, match=message):
        readers.parse_geojson_pages([page], {}, "q", CONTEXT)


def test_a_coordinate_beyond_a_floats_range_is_a_skipped_row():
    page = load_json(b'{"type": "FeatureCollection", "features": [{"type": "Feature", "id": 1,'
                     b' "geometry": {"type": "Point", "coordinates": [1e999, 51.5]},'
                     b' "properties": {"name": "A"}}]}')
    snapshot = readers.parse_geojson_pages([page], {}, "q", CONTEXT)
    assert snapshot.rows == []
    assert snapshot.report.skipped[0].reason.startswith("unparseable coordinates")


@pytest.mark.parametrize("nodeinfo", [True, 1, "x", ["node_id"]])
def test_a_meshviewer_nodeinfo_that_is_not_an_object_is_ignored(nodeinfo):
    """Found by make fuzz-parsers: "nodeinfo": true raised AttributeError
    ('bool' object has no attribute 'get') out of parse_meshviewer."""
    doc = {"nodes": [
        {"node_id": "n1", "hostname": "a", "nodeinfo": nodeinfo,
         "location": {"latitude": 51.51, "longitude": 7.09}},
        {"nodeinfo": nodeinfo}]}
    snapshot = readers.parse_meshviewer(doc, {}, "q", CONTEXT)
    assert [(r["id"], r["name"]) for r in snapshot.rows] == [("n1", "a")]
    assert snapshot.report.counts["nodes without location"] == 1


def test_meshviewer_owner_contact_is_not_published():
    doc = {"nodes": [
        {"node_id": "n1", "hostname": "a", "is_online": True, "owner": "Verein Netz e.V.",
         "location": {"latitude": 51.51, "longitude": 7.09}},
        {"node_id": "n2", "hostname": "b", "is_online": False, "owner": "ich@example.org",
         "location": {"latitude": 51.51, "longitude": 7.08}},
        {"node_id": "n3", "hostname": "c", "is_online": True},
        {"node_id": "n4", "hostname": "d", "is_online": True, "owner": "Tel. 0209 12345",
         "location": {"latitude": 51.51, "longitude": 7.07}},
        # 400,000 characters without "@": scanned once, not once per position
        {"node_id": "n5", "hostname": "e", "is_online": True, "owner": "x" * 400_000,
         "location": {"latitude": 51.51, "longitude": 7.06}}]}
    snapshot = readers.parse_meshviewer(doc, {}, "q", CONTEXT)
    assert [(r["id"], r["operator"], r["status"], r["backhaul"], r["access_points"])
            for r in snapshot.rows] == [("n1", "Verein Netz e.V.", "online", "mesh", 1),
                                        ("n2", "Freifunk", "offline", "mesh", 1),
                                        ("n4", "Freifunk", "online", "mesh", 1),
                                        ("n5", "Freifunk", "online", "mesh", 1)]
    assert snapshot.report.counts["nodes without location"] == 1
