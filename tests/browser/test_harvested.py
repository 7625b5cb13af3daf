"""The theme on data published by the real harvesters: the demo feeds are
harvested (``ckan harvester run-test``) into the live server's portal and
the pages show what the harvesters wrote."""
from __future__ import annotations

import contextlib
import functools
import http.server
import json
import pathlib
import re
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from .conftest import ROOT, run_axe, screenshot, wait_for_module

SOURCES = ("wlan-hotspots-stadt", "breitband-stadtteile")


@contextlib.contextmanager
def _feed_server(directory: pathlib.Path) -> Iterator[str]:
    """Serve the files of ``directory`` on 127.0.0.1; yields the base URL."""
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(directory))
    feeds = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=feeds.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{feeds.server_address[1]}"
    finally:
        feeds.shutdown()


def _run_harvest(live_server, name: str) -> None:
    """One run of the source ``name``, gather to import (``ckan harvester
    run-test``, standing in for the consumers; a source that ran before
    runs again: compat.py, search index of harvest sources)."""
    ckan = str(pathlib.Path(sys.executable).with_name("ckan"))
    run = subprocess.run([ckan, "-c", str(live_server.ini), "harvester", "run-test", name],
                         capture_output=True, text=True, cwd=ROOT, timeout=300)
    assert run.returncode == 0, run.stdout[-2000:] + run.stderr[-2000:]


def _harvest_demo(live_server, portal, names: tuple[str, ...]) -> dict:
    """Create the demo's sources ``names`` in the portal's organization and
    harvest each once; returns their datasets by source name."""
    with _feed_server(ROOT / "demo/feeds") as base:
        sources = {s["name"]: s for s in json.loads(
            (ROOT / "demo/sources.json").read_text(encoding="utf-8"))}
        datasets = {}
        for name in names:
            source = {**sources[name], "owner_org": portal["org"]["id"],
                      "url": f"{base}/{sources[name]['url']}"}
            try:
                live_server.action("harvest_source_create", **source)
            except AssertionError as error:
                pytest.skip(f"harvester for {name} not available: {str(error)[:300]}")
            _run_harvest(live_server, name)
            dataset_name = json.loads(source["config"])["dataset_name"]
            datasets[name] = live_server.action("package_show", id=dataset_name)
        return datasets


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


def _assert_accessible(page, name: str) -> None:
    """axe-core finds no serious or critical violation on the page."""
    result = run_axe(page, name)
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                         for v in serious]


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
    _assert_accessible(page, f"operator source page ({lang})")


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
    _assert_accessible(page, "operator preview page")


# ---------------------------------------------------------------- the operator's path

OPERATOR_TITLE = "WLAN-Hotspots Betriebstest"
OPERATOR_SOURCE = "wlan-hotspots-betriebstest"  # the name CKAN derives from the title
OPERATOR_DATASET = "wlan-hotspots-betriebstest-daten"
OPERATOR_CONFIG = {"format": "csv", "crs": "EPSG:25832", "dataset_name": OPERATOR_DATASET,
                   "dataset_title": "WLAN-Hotspots (Betriebstest)",
                   "columns": {"access_points": "Anzahl_AP"}}
#: rows a spreadsheet export would have got wrong: one far outside the city,
#: one without coordinates
BAD_HOTSPOT_ROWS = (
    "GE-901;Irrläufer Köln;Außenbereich;Stadt Gelsenkirchen;50667;Köln;Domkloster 4;;;"
    "356000,00;5645000,00;Free WiFi Gelsenkirchen;1;Glasfaser;in Betrieb;durchgehend",
    "GE-902;Ohne Koordinaten;Außenbereich;Stadt Gelsenkirchen;45879;Gelsenkirchen;"
    "Ebertstraße 1;;;;;Free WiFi Gelsenkirchen;1;Glasfaser;in Betrieb;durchgehend",
)


def _write_hotspot_feed(path: pathlib.Path, rows: int, bad: bool) -> None:
    """The first ``rows`` hotspots of the demo feed (and the bad rows), UTF-8."""
    lines = (ROOT / "demo/feeds/wlan-hotspots-gelsenkirchen.csv").read_bytes().decode(
        "cp1252").splitlines()
    path.write_text("\n".join(lines[:rows + 1] + list(BAD_HOTSPOT_ROWS if bad else ())) + "\n",
                    encoding="utf-8")


@pytest.fixture
def editor(live_server, portal) -> dict:
    """An editor of the portal's organization (not a sysadmin), with an API token."""
    from ckan.tests import factories

    user = factories.UserWithToken()
    live_server.action("organization_member_create", id=portal["org"]["id"],
                       username=user["name"], role="editor")
    return user


def test_operator_path(page, live_server, editor, tmp_path):
    """An organization editor adds a source, previews it, publishes it,
    reads the report and releases the deletion guard, in German; each step
    is a screenshot of docs/harvesters.md (The operator's path)."""
    page.set_extra_http_headers({"Authorization": editor["token"]})
    feed = tmp_path / "hotspots.csv"
    _write_hotspot_feed(feed, 12, bad=True)
    with _feed_server(tmp_path) as base:
        # 1. add the source through ckanext-harvest's form
        page.goto(f"{live_server.url}/harvest/new", wait_until="networkidle")
        wait_for_module(page, "slug-preview-target")
        page.locator("#field-url").fill(f"{base}/hotspots.csv")
        page.locator("#field-title").fill(OPERATOR_TITLE)
        page.locator('input[name=source_type][value="gelsenkirchen_wifi"]').check()
        page.locator("#field-frequency").select_option("MANUAL")
        page.locator("#field-config").fill(json.dumps(OPERATOR_CONFIG, indent=1))
        expect(page.locator("#field-organizations")).to_contain_text("stadt-gelsenkirchen")
        _assert_accessible(page, "new harvest source form")
        screenshot(page, "operator-path-1-add-source-de")
        page.locator("#save").click()
        expect(page).to_have_url(re.compile(rf"/harvest/{OPERATOR_SOURCE}$"))
        expect(page.locator("h1").first).to_contain_text(OPERATOR_TITLE)

        # 2. its preview: what a run would publish, before anything is published
        page.goto(f"{live_server.url}/harvest/admin/{OPERATOR_SOURCE}", wait_until="networkidle")
        page.get_by_role("link", name="Betrieb").click()
        expect(page.locator("#content")).to_contain_text("Diese Quelle ist noch nicht gelaufen.")
        page.get_by_role("button", name="Vorschau").click()
        result = page.locator(".gk-preview-result")
        expect(result).to_contain_text("14 Datensätze gelesen, 12 gültig, 2 übersprungen")
        expect(result).to_contain_text("+12 neu")
        expect(result).to_contain_text("Der Löschschutz würde ihn veröffentlichen lassen.")
        expect(page.locator(".gk-op-skipped tbody tr")).to_have_count(2)
        # the map of the new rows: a marker for each of the 12
        expect(page.locator("#gk-preview-map .gk-marker")).to_have_count(12)
        _assert_accessible(page, "preview of a new source")
        screenshot(page, "operator-path-2-preview-de")
        assert not live_server.action("package_search", q=f"name:{OPERATOR_DATASET}",
                                      include_private=True)["count"]

        # 3. publish: a run (Reharvest queues one; here run-test runs it)
        _run_harvest(live_server, OPERATOR_SOURCE)
        page.goto(f"{live_server.url}/wifi-hotspots/{OPERATOR_DATASET}", wait_until="networkidle")
        expect(page.locator("#gk-hotspot-table tbody tr")).to_have_count(12)
        expect(page.locator("#gk-hotspot-table")).to_contain_text("Rathaus Ahstraße")
        _assert_accessible(page, "the published dataset")
        screenshot(page, "operator-path-3-published-de", full_page=False)

        # 4. the report on the operator page: the run in words, the runs, the skipped rows
        runs_url = f"{live_server.url}/harvest/{OPERATOR_SOURCE}/runs"
        page.goto(runs_url, wait_until="networkidle")
        expect(page.locator(".gk-op-state")).to_contain_text(
            "veröffentlicht mit Warnungen, 2 Zeilen übersprungen")
        expect(page.locator(".gk-op-runs tbody tr")).to_have_count(1)
        first = page.locator(".gk-op-runs tbody tr").first.locator("td")
        expect(first.nth(2)).to_have_text("12")  # rows published
        expect(first.nth(3)).to_have_text("12")  # new
        expect(first.nth(6)).to_have_text("2")  # skipped
        skipped = page.locator(".gk-op-skipped tbody tr")
        expect(skipped).to_have_count(2)
        expect(skipped.filter(has_text="GE-901")).to_contain_text("außerhalb")
        expect(skipped.filter(has_text="GE-902")).to_contain_text("Koordinaten fehlen")
        _assert_accessible(page, "operator page after the first run")
        screenshot(page, "operator-path-4-report-de")

        # 5. the feed shrinks to 3 rows: the guard stops the run; release it
        _write_hotspot_feed(feed, 3, bad=False)
        _run_harvest(live_server, OPERATOR_SOURCE)
        page.goto(runs_url, wait_until="networkidle")
        expect(page.locator(".gk-op-state")).to_contain_text(
            "Löschschutz hat angehalten: 75 % weniger Zeilen")
        expect(page.locator("#content")).to_contain_text(
            "Löschschutz: der Stand würde 9 von 12 veröffentlichten Zeilen")
        guard = page.locator(".gk-op-guard")
        expect(guard).to_contain_text("Dieser Stand würde 9 von 12 veröffentlichten Zeilen")
        expect(guard.locator("tbody tr")).to_have_count(9)
        _assert_accessible(page, "operator page, stopped by the guard")
        release = page.get_by_role("button", name="Diesen Stand trotzdem veröffentlichen")
        release.scroll_into_view_if_needed()
        screenshot(page, "operator-path-5-guard-de", full_page=False)
        release.click()
        expect(page.locator(".alert").first).to_contain_text(
            "Freigegeben: Der nächste Lauf veröffentlicht diesen Stand")
        _assert_accessible(page, "operator page, guard released")
        screenshot(page, "operator-path-5-released-de", full_page=False)
        _run_harvest(live_server, OPERATOR_SOURCE)
        page.goto(runs_url, wait_until="networkidle")
        expect(page.locator(".gk-op-state")).to_contain_text("veröffentlicht")
        expect(page.locator(".gk-op-guard")).to_have_count(0)
        newest = page.locator(".gk-op-runs tbody tr").first.locator("td")
        expect(newest.nth(2)).to_have_text("3")  # rows published
        expect(newest.nth(5)).to_have_text("9")  # gone
    # released for one run only: the configuration no longer accepts a drop
    source = live_server.action("harvest_source_show", id=OPERATOR_SOURCE)
    assert "accept_drop" not in json.loads(source["config"])
