"""The page helpers (helpers/): home figures, dataset-page data, the trend chart."""
from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest

from ckanext.gelsenkirchen import helpers as h
from ckanext.gelsenkirchen.helpers import broadband_page, resources

WIFI_ROWS = [
    {"id": "1", "name": "Rathaus Buer", "address": "Goldbergstraße 12", "postcode": "45894",
     "stadtteil": "Buer", "operator": "Stadt", "status": "aktiv", "latitude": 51.577,
     "longitude": 7.053},
    {"id": "2", "name": "Ohne Koordinaten", "address": "", "stadtteil": "Horst",
     "operator": "Freifunk", "status": "aktiv", "latitude": None, "longitude": None},
]
BB_ROWS = [
    {"area_name": a, "area_level": lvl, "reference_date": d, "down_fn_hh_alle_50": v50,
     "down_fn_hh_alle_1000": v1000, "down_fn_hh_ftthb_10": vf}
    for a, lvl, d, v50, v1000, vf in [
        ("Buer", "stadtteil", "2025-06-30", 90, 40, 20), ("Buer", "stadtteil", "2025-12-31", 92, 48, 25),
        ("Horst", "stadtteil", "2025-12-31", 88, 35, 15), ("Nord", "stadtbezirk", "2025-12-31", 91, 44, 21),
        ("Gelsenkirchen", "stadt", "2025-12-31", 93.1, 50.2, 31),
        ("<b>X</b>", "stadtteil", "2025-06-30", 1, 1, 1)]
]
PKG = {"type": "x", "resources": [{"id": "r1", "datastore_active": True, "format": "CSV",
                                    "url": "http://x/datastore/dump/r1", "url_type": "datastore"},
                                   {"id": "r2", "format": "GeoJSON", "url": "http://x/a.geojson"},
                                   {"id": "r3", "format": "CSV", "url": "http://x/a.csv"}]}


@pytest.fixture
def request_context(app):
    with app.flask_app.test_request_context(environ_overrides={"CKAN_LANG": "de"}):
        yield


def _rows(rows):
    def fake(resource_id, **extra):
        return rows, sorted({k for r in rows for k in r}), len(rows)
    return fake


@pytest.mark.usefixtures("with_plugins", "request_context")
def test_wifi_page_rows_markers_filter_and_links(monkeypatch):
    monkeypatch.setattr(resources, "datastore_rows", _rows(WIFI_ROWS))
    data = h.gelsenkirchen_wifi_page(PKG)
    assert [c for c, _l in data["columns"]] == ["name", "address", "postcode", "stadtteil",
                                                "operator", "status"]
    assert len(data["rows"]) == 2 and len(data["markers"]) == 1
    # the harvester's CSV file (formulas neutralised) before the DataStore dump
    assert data["csv_url"] == "http://x/a.csv" and data["geojson_url"] == "http://x/a.geojson"
    table_only = {"type": "x", "resources": PKG["resources"][:1]}
    assert h.gelsenkirchen_wifi_page(table_only)["csv_url"] == "http://x/datastore/dump/r1"
    assert "datastore_search?resource_id=r1" in data["api_url"]
    assert [r["name"] for r in h.gelsenkirchen_wifi_page(PKG, "freifunk")["rows"]] == [
        "Ohne Koordinaten"]


@pytest.mark.usefixtures("with_plugins", "request_context")
@pytest.mark.parametrize("url", ["javascript:alert(1)", "JavaScript:alert(1)",
                                 "data:text/html,<script>alert(1)</script>", "/relative.csv"])
def test_download_links_are_web_addresses_only(monkeypatch, url):
    monkeypatch.setattr(resources, "datastore_rows", _rows(WIFI_ROWS))
    pkg = {"type": "x", "resources": [{"id": "r3", "format": "CSV", "url": url},
                                      {"id": "r2", "format": "GeoJSON", "url": url}]}
    for data in (h.gelsenkirchen_wifi_page(pkg), h.gelsenkirchen_broadband_page(pkg)):
        assert data["csv_url"] is None and data["geojson_url"] is None


@pytest.mark.usefixtures("with_plugins", "request_context")
def test_broadband_page_latest_per_stadtteil_and_city_trend(monkeypatch):
    monkeypatch.setattr(resources, "datastore_rows", _rows(BB_ROWS))
    data = h.gelsenkirchen_broadband_page(PKG, "1000")
    assert data["latest"] == "2025-12-31"
    assert data["indicator"] == "1000" and data["indicator_column"] == "down_fn_hh_alle_1000"
    assert [r["area"] for r in data["rows"]] == ["Buer", "Horst"]  # no Stadtbezirk, no city
    assert data["trend"]["1000"] == [("2025-06-30", 20.5), ("2025-12-31", 50.2)]
    assert data["trend"]["ftthb"][-1] == ("2025-12-31", 31.0)
    svg = tk.render_snippet("gelsenkirchen/snippets/broadband_trend.html",
                            {"chart": data["trend_chart"]})
    assert svg.strip().startswith("<svg") and svg.count("<polyline") == 3
    assert "<b>" not in svg


@pytest.mark.usefixtures("with_plugins", "request_context")
def test_trend_chart_escapes_labels():
    chart = broadband_page.trend_chart({"50": [("2025-06-30", 10.0)]}, {"50": "<script>x</script>"})
    svg = tk.render_snippet("gelsenkirchen/snippets/broadband_trend.html", {"chart": chart})
    assert "<script>" not in svg and "&lt;script&gt;" in svg
    assert broadband_page.trend_chart({"50": []}, {}) is None


@pytest.mark.usefixtures("with_plugins", "request_context")
def test_numbers_and_dates_in_german():
    assert h.gelsenkirchen_format_number(1234.56, 1) == "1.234,6"
    assert h.gelsenkirchen_format_date("2025-12-31") == "31.12.2025"
    assert h.gelsenkirchen_format_number(None) == ""


@pytest.mark.usefixtures("with_plugins", "request_context")
def test_map_config_defaults_to_basemap_de():
    cfg = h.gelsenkirchen_map_config()
    assert cfg["tile_url"].startswith("https://sgx.geodatenzentrum.de/wmts_basemapde/")
    assert "basemap.de / BKG" in cfg["attribution"] and "{month_year}" not in cfg["attribution"]
    assert cfg["max_zoom"] == 18


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index", "request_context")
def test_key_figures_absent_without_harvested_datasets():
    from ckanext.gelsenkirchen import page_cache
    page_cache.cache.clear()
    assert h.gelsenkirchen_key_figures() == []
