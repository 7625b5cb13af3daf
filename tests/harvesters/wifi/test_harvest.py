"""Real WiFi harvests (gather -> fetch -> import) against PostgreSQL, the
DataStore, Redis and pgsolr; remote sources mocked with ``responses``."""
from __future__ import annotations

import csv
import io
import json
import pathlib
import re

import ckan.plugins.toolkit as tk
import pytest
import requests
import responses
from ckan import model
from ckan.cli.cli import ckan
from ckan.tests import factories
from ckanext.harvest.model import HarvestObject, HarvestSource

from ckanext.gelsenkirchen.harvesters.base import update_source_config

from ..support import file_of
from . import support as ws

pytestmark = [
    pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.allow_private_addresses", "true"),
    pytest.mark.usefixtures("with_plugins", "plugin_db"),
]
XSS = "<script>alert(1)</script>"


def _activities(dataset_id: str) -> int:
    return len(tk.get_action("package_activity_list")({"ignore_auth": True},
                                                      {"id": dataset_id, "limit": 100}))


# ---------------------------------------------------------------- formats

def test_city_csv_windows_1252_is_published_with_fields_files_and_report(rsps, app):
    url = f"{ws.FEEDS}/wlan.csv"
    rows = ws.hotspots(6)
    rows.append(ws.city_row("GE-100", "Bürgerbüro Heßler", 7.03, 51.53, stadtteil=""))
    ws.mock(rsps, url, ws.city_csv(rows, encoding="cp1252"))
    source = ws.create_source(url, {"crs": "EPSG:25832"})
    out = ws.run(source)
    assert out["gather_errors"] == [] and out["object_messages"] == [], out
    assert out["statuses"] == ["added"]
    dataset = ws.dataset_of(source)
    records = ws.rows_of(dataset)
    assert [r["id"] for r in records] == [f"GE-{i:03d}" for i in range(1, 7)] + ["GE-100"]
    first = records[0]
    assert first["address"] == "Ahstraße 1" and first["postcode"] == "45879"
    assert first["stadtteil"] == "Altstadt" and first["stadtbezirk"] == "Mitte"
    assert first["backhaul"] == "fibre" and first["status"] == "online"
    assert first["operator"] == "Stadt Gelsenkirchen" and first["access_points"] == 2
    assert first["indoor_outdoor"] == "outdoor" and first["source_id"] == "wlan-quelle"
    assert abs(first["longitude"] - 7.078) < 1e-5 and abs(first["latitude"] - 51.505) < 1e-5
    umlauts = records[-1]
    assert umlauts["name"] == "Bürgerbüro Heßler"
    assert umlauts["stadtteil"] == "Heßler" and umlauts["stadtbezirk"] == "Mitte"  # point in polygon
    # resources: DataStore table, GeoJSON, CSV, link to the source; the table is shown
    by_name = {r["name"]: r for r in dataset["resources"]}
    data = by_name["WLAN-Hotspots (Tabelle)"]
    assert data["datastore_active"] is True and data["url_type"] == "datastore"
    views = tk.get_action("resource_view_list")({"ignore_auth": True}, {"id": data["id"]})
    assert [v["view_type"] for v in views] == ["datatables_view"]
    assert by_name["Originalquelle"]["url"] == url
    geojson = json.loads(file_of(app, dataset, "GeoJSON"))
    assert len(geojson["features"]) == 7
    assert geojson["features"][-1]["properties"]["name"] == "Bürgerbüro Heßler"
    exported = list(csv.DictReader(io.StringIO(file_of(app, dataset, "CSV").decode("utf-8"))))
    assert [r["id"] for r in exported] == [r["id"] for r in records]
    # derived fields, spatial extent, provenance
    assert dataset["type"] == "wifi-hotspots"
    assert int(dataset["hotspot_count"]) == 7
    assert int(dataset["access_point_count"]) == 14
    assert dataset["operators"] == ["Stadt Gelsenkirchen"]
    assert dataset["ssids"] == ["Free WiFi Gelsenkirchen"]
    assert dataset["stadtteile_covered"] == ["stadtteil-altstadt", "stadtteil-buer",
                                             "stadtteil-hessler"]
    assert float(dataset["fibre_backhaul_share"]) == pytest.approx(100 * 4 / 7, abs=0.01)
    assert dataset["status_counts"] == {"online": 7}
    assert json.loads(dataset["spatial"])["type"] == "Polygon"
    assert dataset["provenance_source_url"] == url
    assert dataset["provenance_harvest_source"] == "wlan-quelle"
    assert len(dataset["provenance_content_hash"]) == 64 and dataset["provenance_harvested_at"]


def test_geojson_source_with_point_in_polygon_and_bad_features(rsps):
    url = f"{ws.FEEDS}/wlan.geojson"
    features = [
        ws.feature("a1", 7.09, 51.51),
        ws.feature("b2", 7.07, 51.595, stadtteil="Buer"),
        ws.feature("c3", None, None),                      # no geometry
        ws.feature("d4", "sieben", 51.51),                 # unparseable coordinate
        ws.feature("e5", 6.5, 51.2),                       # outside the city
        ws.feature("a1", 7.1, 51.51),                      # duplicate id
        ws.feature("f6", 7.09, 51.51, access_points="zwei"),  # unparseable number
    ]
    ws.mock(rsps, url, ws.collection(features))
    source = ws.create_source(url, {"format": "geojson"})
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    rows = ws.rows_of(ws.dataset_of(source))
    assert [(r["id"], r["stadtteil"], r["stadtbezirk"]) for r in rows] == [
        ("a1", "Altstadt", "Mitte"), ("b2", "Buer", "Nord")]
    messages = "\n".join(out["object_messages"])
    lines = {e["line"] for e in out["object_errors"]}
    assert {3, 4, 5, 6, 7} <= lines
    assert "row 3, id 'c3': missing coordinates" in messages
    assert "row 4, id 'd4': unparseable coordinates" in messages
    assert "row 5, id 'e5': outside the city area" in messages
    assert "row 6, id 'a1': duplicate id" in messages
    assert "row 7, id 'f6': unparseable number: access_points 'zwei'" in messages


def test_ogc_api_features_follows_next_links(rsps):
    base = f"{ws.FEEDS}/ogc/collections/wlan/items"
    page1 = ws.collection([ws.feature("p1", 7.09, 51.51)],
                          links=[{"rel": "next", "type": "application/geo+json",
                                  "href": f"{base}?f=json&offset=1"}])
    page2 = ws.collection([ws.feature("p2", 7.08, 51.51)],
                          links=[{"rel": "next", "href": f"{base}?f=json&offset=2"}])
    page3 = ws.collection([ws.feature("p3", 7.07, 51.51)], links=[{"rel": "self", "href": base}])
    rsps.add(responses.GET, f"{base}?f=json&offset=1", json=page2,
             match=[responses.matchers.query_param_matcher({"f": "json", "offset": "1"})])
    rsps.add(responses.GET, f"{base}?f=json&offset=2", json=page3,
             match=[responses.matchers.query_param_matcher({"f": "json", "offset": "2"})])
    rsps.add(responses.GET, f"{base}?f=json", json=page1,
             match=[responses.matchers.query_param_matcher({"f": "json"})])
    source = ws.create_source(f"{base}?f=json", {"format": "ogcapi"})
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    assert [r["id"] for r in ws.rows_of(ws.dataset_of(source))] == ["p1", "p2", "p3"]
    # a page limit below the number of pages ends the job, publishing nothing
    other = ws.create_source(f"{base}?f=json", {"format": "ogcapi", "page_limit": 2},
                             name="ogc-limit")
    out = ws.run(other)
    assert "more than page_limit=2 pages" in out["gather_errors"][0]
    assert ws.dataset_of(other) is None


def test_paged_sources_are_compared_by_content_not_by_a_conditional_request(rsps):
    """A 304 for the first page says nothing about the others: every page
    is downloaded again and the content hash decides."""
    base = f"{ws.FEEDS}/ogc/collections/wlan/items"
    rsps.add(responses.GET, base, json=ws.collection([ws.feature("p1", 7.09, 51.51)]),
             headers={"ETag": '"v1"'})
    source = ws.create_source(base, {})
    assert ws.run(source)["statuses"] == ["added"]
    out = ws.run(source)
    assert out["statuses"] == ["not modified"], out
    assert "If-None-Match" not in rsps.calls[-1].request.headers


def test_a_wfs_url_with_service_but_no_request_parameter_is_paged(rsps):
    url = f"{ws.FEEDS}/geoserver/ows?service=WFS&typeNames=ge:wlan"
    rsps.add(responses.GET, f"{ws.FEEDS}/geoserver/ows", json=ws.collection(
        [ws.feature("w1", 7.09, 51.51)], numberMatched=1), match=[
        responses.matchers.query_param_matcher({
            "service": "WFS", "typeNames": "ge:wlan", "startIndex": "0", "count": "1000",
            "outputFormat": "application/json"})])
    source = ws.create_source(url, {})
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    assert [r["id"] for r in ws.rows_of(ws.dataset_of(source))] == ["w1"]


def test_city_csv_decimal_rule_is_detected_and_reported(rsps):
    url = f"{ws.FEEDS}/wlan.csv"
    ws.mock(rsps, url, ws.city_csv(ws.hotspots(3)))
    source = ws.create_source(url, {})
    assert ws.run(source)["statuses"] == ["added"]
    obj = model.Session.query(HarvestObject).filter_by(current=True).one()
    report = json.loads(next(e.value for e in obj.extras if e.key == "report"))
    assert report["rules"]["decimal"] == "comma (detected from 6 values)"


def test_wfs_getfeature_is_paged_with_start_index(rsps):
    url = (f"{ws.FEEDS}/geoserver/wfs?service=WFS&version=2.0.0&request=GetFeature"
           "&typeNames=ge:wlan&outputFormat=application/json")
    feats = [ws.feature(f"w{i}", 7.08 + i * 0.001, 51.51) for i in range(5)]
    crs = {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::4326"}}

    def answer(request):
        params = dict(re.findall(r"([^?&=]+)=([^&]*)", request.url))
        start, count = int(params.get("startIndex", 0)), int(params.get("count", 1000))
        body = ws.collection(feats[start:start + count], numberMatched=5,
                             numberReturned=len(feats[start:start + count]), crs=crs)
        return 200, {"Content-Type": "application/json"}, json.dumps(body)

    rsps.add_callback(responses.GET, re.compile(re.escape(f"{ws.FEEDS}/geoserver/wfs") + ".*"),
                      callback=answer)
    source = ws.create_source(url, {"format": "wfs", "page_size": 2})
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    assert [r["id"] for r in ws.rows_of(ws.dataset_of(source))] == [f"w{i}" for i in range(5)]
    starts = [re.search(r"startIndex=(\d+)", c.request.url).group(1) for c in rsps.calls
              if "startIndex" in c.request.url]
    assert starts == ["0", "2", "4"]


def test_wfs_exception_report_with_status_200_is_a_job_error(rsps):
    url = f"{ws.FEEDS}/geoserver/wfs?request=GetFeature&typeNames=ge:x"
    body = ('<?xml version="1.0"?><ows:ExceptionReport xmlns:ows="http://www.opengis.net/ows/1.1">'
            '<ows:Exception><ows:ExceptionText>Feature type ge:x unknown</ows:ExceptionText>'
            '</ows:Exception></ows:ExceptionReport>')
    # the first page is asked for with startIndex, count and outputFormat
    ws.mock(rsps, re.compile(re.escape(f"{ws.FEEDS}/geoserver/wfs?") + ".*"), body,
            content_type="application/xml")
    source = ws.create_source(url, {"format": "wfs"})
    out = ws.run(source)
    assert "Feature type ge:x unknown" in out["gather_errors"][0]


def test_freifunk_meshviewer_counts_nodes_without_location(rsps):
    url = f"{ws.FEEDS}/meshviewer.json"
    doc = {"timestamp": "2025-11-27T12:00:00+0100", "nodes": [
        {"node_id": "aa01", "hostname": "ffge-buer-1", "is_online": True, "clients": 3,
         "location": {"latitude": 51.59, "longitude": 7.05}, "lastseen": "2025-11-27T11:59:00+0100",
         "owner": "someone@example.org", "model": "TP-Link"},
        {"node_id": "aa02", "hostname": "ffge-ohne-ort", "is_online": True, "clients": 0,
         "lastseen": "2025-11-27T11:00:00+0100"},
        {"node_id": "aa03", "hostname": "ffge-altstadt", "is_online": False,
         "location": {"latitude": 51.51, "longitude": 7.09}, "lastseen": "2025-11-20T08:00:00Z"},
    ]}
    ws.mock(rsps, url, doc, content_type="application/json")
    source = ws.create_source(url, {})
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    rows = ws.rows_of(ws.dataset_of(source))
    assert [(r["id"], r["status"], r["operator"]) for r in rows] == [
        ("aa01", "online", "Freifunk"), ("aa03", "offline", "Freifunk")]  # no e-mail published
    assert rows[0]["last_seen"].startswith("2025-11-27T10:59:00")  # UTC
    assert any("row 2, id 'aa02': node without location" in m for m in out["object_messages"])
    assert int(ws.dataset_of(source)["hotspot_count"]) == 2


def test_lat_lon_csv_with_columns_mapping_and_comma_delimiter(rsps):
    url = f"{ws.FEEDS}/hotspots.csv"
    body = ("Kennung,Standortname,Breite,Länge,Netz,Zugänge\n"
            "h1,Marktplatz Buer,51.5912,7.0521,GE-Free,3\n"
            "h2,Heinrich-König-Platz,51.5093,7.0972,GE-Free,\n").encode("utf-8-sig")
    ws.mock(rsps, url, body)
    source = ws.create_source(url, {"format": "csv", "columns": {
        "id": "Kennung", "name": "Standortname", "latitude": "Breite", "longitude": "Länge",
        "access_points": "Zugänge"}})
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    rows = ws.rows_of(ws.dataset_of(source))
    assert [(r["id"], r["ssid"], r["access_points"], r["stadtteil"]) for r in rows] == [
        ("h1", "GE-Free", 3, "Buer"), ("h2", "GE-Free", None, "Altstadt")]


# ---------------------------------------------------------------- unchanged, guard

def test_unchanged_source_adds_no_rows_activity_or_files(rsps):
    url = f"{ws.FEEDS}/wlan.csv"
    body = ws.city_csv(ws.hotspots(5))
    rsps.add(responses.GET, url, body=body, headers={"ETag": '"v1"'}, content_type="text/csv")
    source = ws.create_source(url, {})
    assert ws.run(source)["statuses"] == ["added"]
    dataset = ws.dataset_of(source)
    activities = _activities(dataset["id"])
    # same content again (the server ignores If-None-Match): unchanged by content hash
    out = ws.run(source)
    assert out["statuses"] == ["not modified"], out
    assert rsps.calls[-1].request.headers["If-None-Match"] == '"v1"'
    # a 304 answer
    rsps.replace(responses.GET, url, body=b"", status=304)
    out = ws.run(source)
    assert out["statuses"] == ["not modified"], out
    after = ws.dataset_of(source)
    assert _activities(dataset["id"]) == activities
    assert after["metadata_modified"] == dataset["metadata_modified"]
    assert [r["last_modified"] for r in after["resources"]] == \
        [r["last_modified"] for r in dataset["resources"]]
    assert len(ws.rows_of(after)) == 5


def test_changed_source_updates_rows_with_stable_resource_ids(rsps):
    url = f"{ws.FEEDS}/wlan.csv"
    ws.mock(rsps, url, ws.city_csv(ws.hotspots(10)))
    source = ws.create_source(url, {})
    ws.run(source)
    before = ws.dataset_of(source)
    rsps.replace(responses.GET, url, body=ws.city_csv(ws.hotspots(10, start=3)),
                 content_type="text/csv")
    out = ws.run(source)
    assert out["statuses"] == ["updated"], out
    after = ws.dataset_of(source)
    assert [r["id"] for r in after["resources"]] == [r["id"] for r in before["resources"]]
    assert after["name"] == before["name"]
    assert [r["id"] for r in ws.rows_of(after)] == [f"GE-{i:03d}" for i in range(3, 13)]


def test_deletion_guard_blocks_a_large_drop_until_accepted(rsps):
    url = f"{ws.FEEDS}/wlan.csv"
    ws.mock(rsps, url, ws.city_csv(ws.hotspots(10)))
    source = ws.create_source(url, {})
    ws.run(source)
    rsps.replace(responses.GET, url, body=ws.city_csv(ws.hotspots(4)), content_type="text/csv")
    out = ws.run(source)
    assert out["statuses"] == ["errored"]
    message = out["object_messages"][-1]
    assert "Deletion guard" in message and "drop 6 of 10 published rows (60%" in message
    assert '"accept_drop": true' in message
    assert len(ws.rows_of(ws.dataset_of(source))) == 10
    # an empty snapshot is never published either
    rsps.replace(responses.GET, url, body=ws.city_csv([]), content_type="text/csv")
    out = ws.run(source)
    assert "the snapshot is empty" in out["object_messages"][-1]
    assert len(ws.rows_of(ws.dataset_of(source))) == 10
    # the operator accepts the drop: published, and the flag is removed again
    rsps.replace(responses.GET, url, body=ws.city_csv(ws.hotspots(4)), content_type="text/csv")
    update_source_config(source["id"], '{"accept_drop": true}', {"ignore_auth": True,
                         "user": factories.Sysadmin()["name"]})
    out = ws.run(source)
    assert out["statuses"] == ["updated"], out
    assert len(ws.rows_of(ws.dataset_of(source))) == 4
    assert "accept_drop" not in (HarvestSource.get(source["id"]).config or "")


# ---------------------------------------------------------------- faults keep the dataset

FAULTS = {
    "timeout": (dict(body=requests.exceptions.ReadTimeout("slow")), "read timeout"),
    "connection": (dict(body=requests.exceptions.ConnectionError("Connection refused")),
                   "could not connect"),
    "http-404": (dict(status=404, body="nope"), "HTTP 404"),
    "http-503": (dict(status=503, body="busy"), "HTTP 503"),
    "html-200": (dict(body="<!DOCTYPE html><html><head><title>Wartungsarbeiten</title></head>"
                           "<body>Bitte später</body></html>", content_type="text/html"),
                 "HTML page ('Wartungsarbeiten')"),
    "truncated-csv": (dict(body=b"ID;Name;X;Y\r\nGE-1;A;367000,1;5707000,2\r\nGE-2;\"B"),
                      "invalid CSV"),
    "too-large": (dict(body=b"x" * 3000), "larger than the limit"),
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_faults_end_the_job_with_an_error_and_keep_the_dataset(rsps, fault, ckan_config,
                                                               monkeypatch):
    url = f"{ws.FEEDS}/wlan.csv"
    ws.mock(rsps, url, ws.city_csv(ws.hotspots(5)))
    source = ws.create_source(url, {"format": "csv"})
    ws.run(source)
    before = ws.dataset_of(source)
    kwargs, expected = FAULTS[fault]
    rsps.replace(responses.GET, url, **{"content_type": "text/csv", **kwargs})
    if fault == "too-large":
        monkeypatch.setitem(ckan_config, "ckanext.gelsenkirchen.harvest.max_bytes", "2000")
    out = ws.run(source)
    assert len(out["gather_errors"]) == 1, out
    assert expected in out["gather_errors"][0]
    assert "The published dataset was not changed" in out["gather_errors"][0]
    after = ws.dataset_of(source)
    assert after["metadata_modified"] == before["metadata_modified"]
    assert len(ws.rows_of(after)) == 5


def test_truncated_json_and_redirect_loop_are_job_errors(rsps):
    url = f"{ws.FEEDS}/wlan.geojson"
    ws.mock(rsps, url, '{"type": "FeatureCollection", "features": [{"type": "Feat',
            content_type="application/geo+json")
    out = ws.run(ws.create_source(url, {"format": "geojson"}))
    assert "not valid JSON" in out["gather_errors"][0] and "truncated?" in out["gather_errors"][0]
    loop_a, loop_b = f"{ws.FEEDS}/a.csv", f"{ws.FEEDS}/b.csv"
    rsps.add(responses.GET, loop_a, status=302, headers={"Location": loop_b})
    rsps.add(responses.GET, loop_b, status=302, headers={"Location": loop_a})
    out = ws.run(ws.create_source(loop_a, {}, name="loop"))
    assert "redirect loop" in out["gather_errors"][0]


def test_private_addresses_are_refused_by_default(rsps, ckan_config, monkeypatch):
    monkeypatch.setitem(ckan_config, "ckanext.gelsenkirchen.harvest.allow_private_addresses",
                        "false")
    url = "http://127.0.0.1:9/wlan.csv"
    out = ws.run(ws.create_source(url, {}))
    assert "loopback, private, link-local or metadata address" in out["gather_errors"][0]
    assert len(rsps.calls) == 0


# ---------------------------------------------------------------- text is data

def test_markup_in_source_text_stays_text(rsps, app):
    url = f"{ws.FEEDS}/wlan.csv"
    rows = [ws.city_row("GE-1", XSS).replace("Stadt Gelsenkirchen", XSS), *ws.hotspots(2, start=2)]
    ws.mock(rsps, url, ws.city_csv(rows))
    source = ws.create_source(url, {})
    assert ws.run(source)["statuses"] == ["added"]
    dataset = ws.dataset_of(source)
    record = next(r for r in ws.rows_of(dataset) if r["id"] == "GE-1")
    assert record["name"] == XSS and record["operator"] == XSS
    assert XSS in dataset["operators"]
    html = app.get(f"/dataset/{dataset['name']}").get_data(as_text=True)
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert XSS not in html
    assert XSS in file_of(app, dataset, "CSV").decode("utf-8")
    geojson = json.loads(file_of(app, dataset, "GeoJSON"))
    assert XSS in [f["properties"]["name"] for f in geojson["features"]]


# ---------------------------------------------------------------- sources: API, web form, CLI

def test_config_is_validated_when_the_source_is_saved():
    def create(config):
        with pytest.raises(tk.ValidationError) as error:
            ws.create_source(f"{ws.FEEDS}/x.csv", config, name="bad")
        return str(error.value.error_dict)

    assert 'unknown key "colums"' in create({"colums": {}})
    assert '"page_limit" must be an integer' in create({"page_limit": "10"})
    assert 'unknown CRS' in create({"crs": "EPSG:999999"})
    assert '"columns.y" is required' in create({"columns": {"x": "Rechtswert"}})
    assert '"columns.longitude" is required' in create({"columns": {"latitude": "lat"}})
    assert '"accept_drop" must be true/false' in create({"accept_drop": "yes"})


def test_source_via_web_form_runs_with_the_cli(rsps, app, cli):
    sysadmin = factories.SysadminWithToken()
    org = factories.Organization(users=[{"name": sysadmin["name"], "capacity": "admin"}])
    headers = {"Authorization": sysadmin["token"]}
    page = app.get("/harvest/new", headers=headers).get_data(as_text=True)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    assert 'value="gelsenkirchen_wifi"' in page
    url = f"{ws.FEEDS}/form.csv"
    ws.mock(rsps, url, ws.city_csv(ws.hotspots(3)))
    resp = app.post("/harvest/new", headers=headers, data={
        "_csrf_token": token, "url": url, "title": "WLAN aus dem Formular", "name": "wlan-formular",
        "notes": "", "source_type": "gelsenkirchen_wifi", "frequency": "DAILY",
        "config": '{"crs": "EPSG:25832"}', "owner_org": org["id"], "save": ""},
        follow_redirects=False)
    assert resp.status_code in (302, 303), resp.get_data(as_text=True)[:2000]
    source = tk.get_action("harvest_source_show")({"ignore_auth": True}, {"id": "wlan-formular"})
    result = cli.invoke(ckan, ["harvester", "run-test", "wlan-formular"])
    assert result.exit_code == 0, result.output
    model.Session.remove()
    dataset = ws.dataset_of(source)
    assert [r["id"] for r in ws.rows_of(dataset)] == ["GE-001", "GE-002", "GE-003"]
    # a bad configuration in the form is refused with the key named
    page = app.get("/harvest/new", headers=headers).get_data(as_text=True)
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page).group(1)
    resp = app.post("/harvest/new", headers=headers, data={
        "_csrf_token": token, "url": f"{ws.FEEDS}/other.csv", "title": "Kaputt", "name": "kaputt",
        "source_type": "gelsenkirchen_wifi", "frequency": "MANUAL",
        "config": '{"crs": "EPSG:0"}', "owner_org": org["id"], "save": ""})
    assert "unknown CRS" in resp.get_data(as_text=True)


def test_source_via_api_runs_with_the_cli(rsps, cli):
    url = f"{ws.FEEDS}/api.geojson"
    ws.mock(rsps, url, ws.collection([ws.feature("x1", 7.09, 51.51)]))
    source = ws.create_source(url, {"format": "geojson"}, name="wlan-api")
    result = cli.invoke(ckan, ["harvester", "run-test", "wlan-api"])
    assert result.exit_code == 0, result.output
    model.Session.remove()
    assert [r["id"] for r in ws.rows_of(ws.dataset_of(source))] == ["x1"]


DEMO = pathlib.Path(__file__).resolve().parents[3] / "demo"
DEMO_SOURCES = [s for s in json.loads((DEMO / "sources.json").read_text("utf-8"))
                if s["source_type"] == "gelsenkirchen_wifi"]


@pytest.mark.parametrize("demo", DEMO_SOURCES, ids=[s["name"] for s in DEMO_SOURCES])
def test_demo_feeds_harvest_cleanly(rsps, demo):
    url = f"http://127.0.0.1:8765/{demo['url']}"
    rsps.add(responses.GET, url, body=(DEMO / "feeds" / demo["url"]).read_bytes())
    source = ws.create_source(url, json.loads(demo["config"]), name=demo["name"],
                              title=demo["title"], frequency=demo["frequency"])
    out = ws.run(source)
    assert out["gather_errors"] == [] and out["statuses"] == ["added"], out
    dataset = ws.dataset_of(source)
    expected = {"wlan-hotspots-stadt": 40, "wlan-oeffentliche-gebaeude": 8, "freifunk-knoten": 10}
    assert int(dataset["hotspot_count"]) == expected[demo["name"]]
    assert len(ws.rows_of(dataset)) == expected[demo["name"]]
    assert all(r["stadtteil"] for r in ws.rows_of(dataset))


def test_dataset_name_taken_by_the_harvest_source_gets_a_free_variant(rsps):
    url = f"{ws.FEEDS}/wlan.csv"
    ws.mock(rsps, url, ws.city_csv(ws.hotspots(2)))
    source = ws.create_source(url, {"dataset_name": "wlan-quelle"}, name="wlan-quelle")
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    name = ws.dataset_of(source)["name"]
    assert name != "wlan-quelle" and name.startswith("wlan-quelle")
    assert ws.run(source)["statuses"] == ["not modified"]


# ---------------------------------------------------------------- job report messages


def test_job_report_is_stored_untranslated_shown_in_german_and_logged_in_english(rsps):
    """Skipped-row reasons are kept as msgid and parameters (the report
    extra), gather errors as English text read back into msgid and
    parameters: either renders in German for the page, the log is English."""
    from ckanext.gelsenkirchen.harvesters.base import GATHER_MESSAGES
    from ckanext.gelsenkirchen.harvesters.report import Report
    from ckanext.gelsenkirchen.logic.messages import parse, render

    url = f"{ws.FEEDS}/wlan.csv"
    ws.mock(rsps, url, ws.city_csv([*ws.hotspots(2), ws.city_row("GE-9", "ohne X", x="")]))
    source = ws.create_source(url, {})
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    obj = model.Session.query(HarvestObject).filter_by(harvest_source_id=source["id"]).one()
    report = json.loads(next(e.value for e in obj.extras if e.key == "report"))
    assert report["skipped"] == [{"reason": "missing coordinates", "row": 4,
                                  "feature_id": "GE-9", "params": {}}]
    assert render(report["skipped"][0]["reason"], "de") == "Koordinaten fehlen"
    assert "Skipped row 4, id 'GE-9': missing coordinates" in out["object_messages"]
    # the summary the log gets stays English
    assert "1 skipped (missing coordinates (1))" in Report.from_dict(report).summary()

    rsps.replace(responses.GET, url, status=404, body="nope", content_type="text/plain")
    error = ws.run(source)["gather_errors"][0]
    assert error.startswith("The source could not be harvested: the source answered HTTP 404")
    german = render(parse(error, GATHER_MESSAGES), "de")
    assert german.startswith("Die Quelle konnte nicht abgerufen werden: ")
    assert german.endswith("Der veröffentlichte Datensatz wurde nicht geändert.")
