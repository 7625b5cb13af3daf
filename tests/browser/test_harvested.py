"""The theme on data published by the real harvesters: the demo feeds are
harvested (``ckan harvester run-test``) into the live server's portal and
the pages show what the harvesters wrote."""
from __future__ import annotations

import functools
import http.server
import json
import pathlib
import re
import subprocess
import sys
import threading

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, run_axe, screenshot

SOURCES = ("wlan-hotspots-stadt", "breitband-stadtteile")


def _harvest_demo(live_server, portal, names: tuple[str, ...]) -> dict:
    """Create the demo's sources ``names`` in the portal's organization and
    harvest each once; returns their datasets by source name."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler,
                                directory=str(ROOT / "demo/feeds"))
    feeds = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=feeds.serve_forever, daemon=True)
    thread.start()
    try:
        sources = {s["name"]: s for s in json.loads(
            (ROOT / "demo/sources.json").read_text(encoding="utf-8"))}
        datasets = {}
        for name in names:
            source = {**sources[name], "owner_org": portal["org"]["id"],
                      "url": f"http://127.0.0.1:{feeds.server_address[1]}/{sources[name]['url']}"}
            try:
                live_server.action("harvest_source_create", **source)
            except AssertionError as error:
                pytest.skip(f"harvester for {name} not available: {str(error)[:300]}")
            run = subprocess.run(
                [str(pathlib.Path(sys.executable).with_name("ckan")), "-c", str(live_server.ini),
                 "harvester", "run-test", name], capture_output=True, text=True, cwd=ROOT,
                timeout=300)
            assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]
            dataset_name = json.loads(source["config"])["dataset_name"]
            datasets[name] = live_server.action("package_show", id=dataset_name)
        return datasets
    finally:
        feeds.shutdown()


@pytest.fixture(scope="module")
def harvested(live_server, portal) -> dict:
    return _harvest_demo(live_server, portal, SOURCES)


def test_harvested_hotspots_page(page, live_server, harvested):
    pkg = harvested["wlan-hotspots-stadt"]
    page.goto(f"{live_server.url}/wifi-hotspots/{pkg['name']}", wait_until="networkidle")
    rows = page.locator("#gk-hotspot-table tbody tr")
    expect(rows).to_have_count(int(pkg["hotspot_count"]))
    expect(page.locator(".gk-marker, .marker-cluster").first).to_be_visible()
    expect(page.locator(".gk-downloads")).to_contain_text("CSV")
    expect(page.locator(".gk-downloads")).to_contain_text("GeoJSON")
    screenshot(page, "harvested-wifi-hotspots")


def test_harvested_broadband_page(page, live_server, harvested):
    pkg = harvested["breitband-stadtteile"]
    page.goto(f"{live_server.url}/broadband-coverage/{pkg['name']}", wait_until="networkidle")
    expect(page.locator("#gk-bb-table tbody tr").first).to_be_visible()
    expect(page.locator("path.leaflet-interactive").first).to_be_attached()
    # three indicators; FTTH/B from the lowest ftthb speed class that has values
    expect(page.locator("svg.gk-trend polyline")).to_have_count(3)
    screenshot(page, "harvested-broadband-coverage")


def test_home_figures_come_from_the_harvested_datasets(page, live_server, harvested):
    wifi, broadband = harvested["wlan-hotspots-stadt"], harvested["breitband-stadtteile"]
    page.goto(f"{live_server.url}/")
    hotspots = page.locator('[data-figure="hotspots"]')
    hotspot_sets = live_server.action("package_search", fq='+dataset_type:"wifi-hotspots"',
                                      rows=1000)["results"]
    assert wifi["name"] in {d["name"] for d in hotspot_sets}
    total = sum(d["hotspot_count"] for d in hotspot_sets)
    expect(hotspots.locator(".gk-figure-value")).to_have_text(str(total))
    gigabit = page.locator('[data-figure="gigabit"] .gk-figure-value').inner_text()
    assert float(re.sub(r"[^\d,]", "", gigabit).replace(",", ".")) == pytest.approx(
        float(broadband["households_1gbit_share"]), abs=0.05)
    screenshot(page, "harvested-home")


# ---------------------------------------------------------------- the operator's page


@pytest.fixture(scope="module")
def freifunk(live_server, portal, harvested) -> dict:
    """The demo's Freifunk source: two nodes without a location are skipped."""
    return _harvest_demo(live_server, portal, ("freifunk-knoten",))["freifunk-knoten"]


@pytest.mark.parametrize("lang,state", [("de", "veröffentlicht mit Warnungen"),
                                        ("en", "published with warnings")])
def test_operator_page_of_a_source_is_accessible(page, live_server, freifunk, lang, state):
    page.set_extra_http_headers({"Authorization": live_server.token})  # the sysadmin
    prefix = "" if lang == "de" else "/en"
    response = page.goto(f"{live_server.url}{prefix}/harvest/freifunk-knoten/runs",
                         wait_until="networkidle")
    assert response.status == 200
    expect(page.locator(".gk-op-state")).to_contain_text(state)
    expect(page.locator(".gk-op-skipped tbody tr")).to_have_count(2)
    expect(page.locator("svg[role=img]")).to_be_visible()
    screenshot(page, f"operator-source-page-{lang}")
    result = run_axe(page, f"operator source page ({lang})")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                         for v in serious]


def test_operator_page_is_refused_to_visitors(page, live_server, freifunk):
    response = page.goto(f"{live_server.url}/harvest/freifunk-knoten/runs")
    assert response.status == 403


def test_operator_preview_page_is_accessible(page, live_server, freifunk):
    """The preview form of the operator page; the demo feed server is gone
    by now, so the preview says why a run would fail."""
    page.set_extra_http_headers({"Authorization": live_server.token})
    page.goto(f"{live_server.url}/harvest/freifunk-knoten/runs", wait_until="networkidle")
    page.get_by_role("button", name="Vorschau").click()
    expect(page.locator(".gk-preview-result")).to_contain_text("Ein Lauf würde fehlschlagen")
    screenshot(page, "operator-preview-de")
    result = run_axe(page, "operator preview page")
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                         for v in serious]
