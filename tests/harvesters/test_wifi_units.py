"""Pure unit tests of the shared harvester base and the WiFi mapping: no
database, no CKAN app; HTTP mocked with ``responses``."""
from __future__ import annotations

import http.server
import json
import pathlib
import threading

import pytest
import requests
import responses

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters import http as safe_http
from ckanext.gelsenkirchen.harvesters import wifi
from ckanext.gelsenkirchen.harvesters.base import (
    ParseContext,
    drop_check,
    rows_to_csv,
    rows_to_geojson,
)
from ckanext.gelsenkirchen.harvesters.config import ConfigError
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs, formats, paging
from ckanext.gelsenkirchen.harvesters.source.jsondoc import load_json

from . import wifi_support as ws

ROOT = pathlib.Path(__file__).resolve().parents[2]
BOUNDARIES = geography.load_boundaries("ckanext.gelsenkirchen:data/boundaries-approximate.geojson")
CONTEXT = ParseContext(city_bbox=geography.expand_bbox(BOUNDARIES.bbox, 1000),
                       boundaries=BOUNDARIES,
                       source_name="quelle")
OPEN = safe_http.Limits(allow_private_addresses=True)


def _csv(body: bytes, **cfg):
    return wifi.parse_csv(body, cfg, "quelle", CONTEXT)


# ---------------------------------------------------------------- vocabularies

def test_vocabularies_and_timestamps():
    assert wifi.normalize_backhaul("Glasfaser (FTTB)") == "fibre"
    assert wifi.normalize_backhaul("LTE") == "mobile"
    assert wifi.normalize_status("außer Betrieb") == "offline"
    assert wifi.normalize_status("") == "unknown"
    assert wifi.normalize_status("im Aufbau") == "im Aufbau"  # unknown values are kept
    assert wifi.normalize_placement("Außenbereich") == "outdoor"
    assert wifi.parse_timestamp("27.11.2025 14:05") == "2025-11-27T14:05:00"
    assert wifi.parse_timestamp("2025-11-27T14:05:00+01:00") == "2025-11-27T13:05:00"
    assert wifi.parse_timestamp(1764252300) == "2025-11-27T14:05:00"
    with pytest.raises(ValueError):
        wifi.parse_timestamp("gestern")


# ---------------------------------------------------------------- CSV

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
    skipped = {s.row: (s.feature_id, s.reason) for s in snapshot.report.skipped}
    assert skipped[3] == ("GE-2", "missing coordinates")
    assert skipped[4][1].startswith("unparseable coordinates: '36x7,1'")
    assert skipped[5][1].startswith("outside the city area")
    assert skipped[6][1] == "duplicate id: the same id is already in row 2"
    assert skipped[7][1] == "unparseable number: access_points 'zwei'"
    assert skipped[8] == (None, "missing id")
    assert skipped[9][1] == "wrong number of fields: 2 instead of 15"
    assert snapshot.report.records_read == 8 and snapshot.report.published == 1


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


# ---------------------------------------------------------------- GeoJSON, meshviewer

def test_geojson_legacy_crs_member_is_reprojected():
    x, y = 367900.0, 5708000.0
    page = {"type": "FeatureCollection",
            "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::25832"}},
            "features": [{"type": "Feature", "id": 1, "geometry": {"type": "Point",
                                                                  "coordinates": [x, y]},
                          "properties": {"name": "A"}}]}
    snapshot = wifi.parse_geojson_pages([page], {}, "q", CONTEXT)
    assert snapshot.meta["crs"] == "EPSG:25832"
    assert 7.0 < snapshot.rows[0]["longitude"] < 7.2 and snapshot.rows[0]["id"] == "1"


def test_geojson_identity_is_the_id_attribute_else_the_feature_id():
    """The rule the broadband harvester uses as well (source/jsondoc.py)."""
    page = ws.collection([
        {"type": "Feature", "id": "wlan.1", "geometry": {"type": "Point", "coordinates": [7.09, 51.51]},
         "properties": {"ID": "GE-1"}},
        {"type": "Feature", "id": "wlan.2", "geometry": {"type": "Point", "coordinates": [7.08, 51.51]},
         "properties": {"ID": ""}}])
    snapshot = wifi.parse_geojson_pages([page], {}, "q", CONTEXT)
    assert [r["id"] for r in snapshot.rows] == ["GE-1", "wlan.2"]


def test_geojson_non_points_and_wrong_documents():
    page = ws.collection([{"type": "Feature", "id": "p", "geometry": {
        "type": "Polygon", "coordinates": [[[7, 51], [7.1, 51], [7, 51.1], [7, 51]]]},
        "properties": {}}])
    snapshot = wifi.parse_geojson_pages([page], {}, "q", CONTEXT)
    assert snapshot.report.skipped[0].reason.startswith("unsupported geometry 'Polygon'")
    with pytest.raises(ParseError, match="not a GeoJSON FeatureCollection"):
        wifi.parse_geojson_pages([{"type": "Feature"}], {}, "q", CONTEXT)
    with pytest.raises(ParseError, match="truncated"):
        load_json(b'{"type": "FeatureCollection", "features": [')


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
    snapshot = wifi.parse_meshviewer(doc, {}, "q", CONTEXT)
    assert [(r["id"], r["operator"], r["status"], r["backhaul"], r["access_points"])
            for r in snapshot.rows] == [("n1", "Verein Netz e.V.", "online", "mesh", 1),
                                        ("n2", "Freifunk", "offline", "mesh", 1),
                                        ("n4", "Freifunk", "online", "mesh", 1),
                                        ("n5", "Freifunk", "online", "mesh", 1)]
    assert snapshot.report.counts["nodes without location"] == 1


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


# ---------------------------------------------------------------- config

@pytest.fixture
def harvester():
    return wifi.WifiHotspotHarvester()


@pytest.mark.parametrize("config, message", [
    ("[1]", "must be a JSON object"),
    ("{nope", "not valid JSON"),
    ('{"fromat": "csv"}', 'unknown key "fromat"'),
    ('{"format": "xlsx"}', '"format" must be one of'),
    ('{"crs": "EPSG:0"}', '"crs": unknown CRS'),
    ('{"crs": 25832}', '"crs" must be a string'),
    ('{"page_limit": 0}', '"page_limit" must be greater than 0'),
    ('{"max_drop_share": 1.5}', '"max_drop_share" must be a share'),
    ('{"columns": {"x": "RW"}}', '"columns.y" is required'),
    ('{"columns": {"farbe": "F"}}', '"columns.farbe" is not a known field'),
    ('{"defaults": {"name": "x"}}', '"defaults.name" cannot have a default'),
    ('{"dataset_name": "Große Daten"}', '"dataset_name" must be'),
    ('{"format": "meshviewer", "columns": {"id": "x"}}', '"columns" is not used'),
    ('{"bbox": [1, 2, 3]}', '"bbox": a bbox needs four numbers'),
])
def test_invalid_configs_name_the_key(harvester, config, message):
    with pytest.raises(ConfigError) as error:
        harvester.validate_config(config)
    assert message in str(error.value)


def test_valid_config_is_kept(harvester):
    config = json.dumps({"format": "csv", "crs": "EPSG:25832", "columns": {"id": "Nr"},
                         "accept_drop": True, "defaults": {"ssid": "GE"}, "page_limit": 5})
    assert harvester.validate_config(config) == config
    assert harvester.validate_config("") == ""


# ---------------------------------------------------------------- guard, exports

def test_deletion_guard():
    published = {str(i) for i in range(10)}
    assert drop_check(published, published - {"0", "1", "2"}, 0.3) == (False, "")
    blocked, message = drop_check(published, {"0", "1", "x"}, 0.3)
    assert blocked and "drop 8 of 10 published rows (80%" in message and "1 of them new" in message
    assert drop_check(None, set(), 0.3)[0] is True
    assert drop_check(None, {"a"}, 0.3) == (False, "")


def test_csv_download_neutralises_formulas():
    """Harvested text must not run as a formula in the spreadsheet of
    someone who opens the published CSV; numbers and phone numbers stay."""
    rows = [{"id": "1", "name": '=HYPERLINK("http://evil.example","Klick")', "phone": "+49 209 169-0"},
            {"id": "2", "name": "@SUM(A1:A9)", "phone": "-12.5"},
            {"id": "3", "name": "+cmd|' /C calc'!A0", "phone": "\t=1+1"}]
    lines = rows_to_csv(rows, ["id", "name", "phone"]).decode().splitlines()
    assert lines[1] == '1,"\'=HYPERLINK(""http://evil.example"",""Klick"")",+49 209 169-0'
    assert lines[2] == "2,'@SUM(A1:A9),-12.5"
    assert lines[3] == "3,'+cmd|' /C calc'!A0,'\t=1+1"


def test_exports_keep_text_verbatim():
    rows = [{"id": "1", "name": "<script>alert(1)</script>", "latitude": 51.5, "longitude": 7.1}]
    assert b"<script>alert(1)</script>" in rows_to_csv(rows, ["id", "name"])
    feature = json.loads(rows_to_geojson(rows, ["id", "name"]))["features"][0]
    assert feature["properties"]["name"] == "<script>alert(1)</script>"
    assert feature["geometry"]["coordinates"] == [7.1, 51.5]


def test_geo_helpers():
    assert BOUNDARIES.lookup(7.09, 51.51) == ("Altstadt", "Mitte")
    assert BOUNDARIES.lookup(0, 0) == ("", "")
    assert json.loads(geography.spatial_geojson([(7.0, 51.5), (7.1, 51.6)]))["type"] == "Polygon"
    assert json.loads(geography.spatial_geojson([(7.0, 51.5)]))["type"] == "Point"
    lons, lats = crs.to_wgs84([367900.0], [5708000.0], "EPSG:25832")
    assert 7.0 < lons[0] < 7.2 and 51.4 < lats[0] < 51.6
    assert geography.resolve_path("ckanext.gelsenkirchen:data/x.geojson").endswith(
        "ckanext/gelsenkirchen/data/x.geojson")


# ---------------------------------------------------------------- network safety

@pytest.mark.parametrize("address", ["127.0.0.1", "10.1.2.3", "192.168.0.1", "172.16.5.4",
                                     "169.254.169.254", "100.100.100.200", "::1", "fe80::1",
                                     "fd00:ec2::254", "::ffff:127.0.0.1", "0.0.0.0", "224.0.0.1",
                                     # IPv6 wrapping a private IPv4: 6to4, NAT64, Teredo
                                     "2002:c0a8:101::1", "2002:7f00:1::", "2002:a9fe:a9fe::",
                                     "64:ff9b::a00:1", "64:ff9b::7f00:1", "64:ff9b:1::c0a8:1",
                                     "2001:0:4136:e378:8000:63bf:f5ff:fffe"])
def test_forbidden_addresses(address):
    assert safe_http.address_is_forbidden(address)


def test_public_addresses_are_allowed():
    assert not safe_http.address_is_forbidden("193.175.1.1")
    assert not safe_http.address_is_forbidden("2a00:1450:4001::1")
    assert not safe_http.address_is_forbidden("2002:c1af:101::1")  # 6to4 of 193.175.1.1


def test_urls_are_checked_before_any_request():
    strict = safe_http.Limits()
    with pytest.raises(safe_http.FetchError, match="only http and https"):
        safe_http.check_url("file:///etc/passwd", strict)
    with pytest.raises(safe_http.FetchError, match="only http and https"):
        safe_http.check_url("ftp://daten.example.org/x.csv", strict)
    with pytest.raises(safe_http.FetchError, match="credentials"):
        safe_http.check_url("https://user:pw@daten.example.org/x", strict)
    with pytest.raises(safe_http.FetchError, match="resolves to 10.0.0.5"):
        safe_http.check_url("https://intern.example.org/x", strict,
                            resolver=lambda host, port: ["93.184.216.34", "10.0.0.5"])
    safe_http.check_url("https://daten.example.org/x", strict,
                        resolver=lambda host, port: ["93.184.216.34"])


@pytest.fixture()
def local_feed():
    """A real HTTP server on 127.0.0.1 that records the requests it gets."""
    seen: list[str] = []

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 - http.server's name
            seen.append(self.path)
            body = b"id,name\n1,Rathaus\n"
            self.send_response(200)
            self.send_header("Content-Type", "text/csv")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://localhost:{server.server_address[1]}/feed.csv", seen
    server.shutdown()
    server.server_close()


def test_dns_rebinding_cannot_reach_a_private_address(local_feed):
    """The name passes the check with a public answer, then resolves to
    127.0.0.1 when requests connects: the socket's peer is checked too."""
    url, seen = local_feed
    public_first = lambda host, port: ["93.184.216.34"]  # noqa: E731 - the first DNS answer
    with pytest.raises(safe_http.FetchError, match="connected to 127.0.0.1"):
        safe_http.fetch(url, safe_http.Limits(), resolver=public_first)
    assert seen == []                                    # not a byte reached the server
    # the same server is reachable where private addresses are allowed
    assert safe_http.fetch(url, OPEN, resolver=public_first).body.startswith(b"id,name")
    assert seen == ["/feed.csv"]


@pytest.fixture()
def trickling_source():
    """A real socket server that sends its answer one byte every 50 ms:
    within every read timeout, never done (1 MB would take 14 hours)."""
    import socket
    import time

    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()

    def serve(head_too: bool) -> None:
        conn, _addr = listener.accept()
        conn.recv(65536)
        head = b"HTTP/1.1 200 OK\r\nContent-Type: text/csv\r\nContent-Length: 1000000\r\n\r\n"
        try:
            if not head_too:
                conn.sendall(head)
            for byte in (head if head_too else b"x" * 1_000_000):
                if stop.is_set():
                    break
                conn.sendall(bytes([byte]) if head_too else b"x")
                time.sleep(0.05)
        except OSError:  # the harvester hung up
            pass
        finally:
            conn.close()

    def start(head_too: bool = False) -> str:
        threading.Thread(target=serve, args=(head_too,), daemon=True).start()
        return f"http://127.0.0.1:{listener.getsockname()[1]}/slow.csv"

    yield start
    stop.set()
    listener.close()


@pytest.mark.parametrize("head_too", [False, True], ids=["body", "status line and headers"])
def test_total_deadline_ends_a_source_that_trickles(trickling_source, head_too):
    limits = safe_http.Limits(allow_private_addresses=True, read_timeout=1, total_timeout=1.5)
    with pytest.raises(safe_http.FetchError, match=r"took longer than 1.5 s"):
        safe_http.fetch(trickling_source(head_too), limits)


@responses.activate
def test_redirects_to_private_hosts_are_refused_after_the_hop():
    responses.add(responses.GET, "https://daten.example.org/a", status=302,
                  headers={"Location": "http://169.254.169.254/latest/meta-data/"})
    resolver = {"daten.example.org": ["93.184.216.34"]}.__getitem__
    with pytest.raises(safe_http.FetchError, match="169.254.169.254"):
        safe_http.fetch("https://daten.example.org/a", safe_http.Limits(),
                        resolver=lambda host, port: resolver(host))
    assert len(responses.calls) == 1


@responses.activate
def test_redirect_limit_loop_and_conditional_requests():
    for i in range(8):
        responses.add(responses.GET, f"https://x.example.org/{i}", status=301,
                      headers={"Location": f"/{i + 1}"})
    with pytest.raises(safe_http.FetchError, match="too many redirects"):
        safe_http.fetch("https://x.example.org/0", OPEN)
    responses.add(responses.GET, "https://x.example.org/loop", status=307,
                  headers={"Location": "https://x.example.org/loop"})
    with pytest.raises(safe_http.FetchError, match="redirect loop"):
        safe_http.fetch("https://x.example.org/loop", OPEN)
    responses.add(responses.GET, "https://x.example.org/data", status=304)
    answer = safe_http.fetch("https://x.example.org/data", OPEN, etag='"e1"',
                             last_modified="Tue, 01 Jul 2025 10:00:00 GMT")
    assert answer.not_modified
    sent = responses.calls[-1].request.headers
    assert sent["If-None-Match"] == '"e1"'
    assert sent["If-Modified-Since"] == "Tue, 01 Jul 2025 10:00:00 GMT"


@responses.activate
def test_size_limit_timeouts_and_errors():
    responses.add(responses.GET, "https://x.example.org/big", body=b"x" * 5000)
    with pytest.raises(safe_http.FetchError, match="larger than the limit"):
        safe_http.fetch("https://x.example.org/big", safe_http.Limits(
            allow_private_addresses=True, max_bytes=4096))
    responses.add(responses.GET, "https://x.example.org/slow",
                  body=requests.exceptions.ConnectTimeout())
    with pytest.raises(safe_http.FetchError, match="timed out"):
        safe_http.fetch("https://x.example.org/slow", OPEN)
    responses.add(responses.GET, "https://x.example.org/gone", status=410)
    with pytest.raises(safe_http.FetchError, match="HTTP 410"):
        safe_http.fetch("https://x.example.org/gone", OPEN)


def test_html_detection():
    assert safe_http.looks_like_html(b"\xef\xbb\xbf  <!DOCTYPE html><html>", "")
    assert safe_http.looks_like_html(b"<!-- x --><html lang=de>", "application/octet-stream")
    assert safe_http.looks_like_html(b"ID;Name", "text/html")
    assert not safe_http.looks_like_html(b"ID;Name\n<b>1</b>;2", "text/csv")
    assert safe_http.html_title(b"<html><title> Fehler 500 </title>") == "Fehler 500"
