"""What a person sees and does on the portal, in real headless Chromium."""
from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from .conftest import EVIL, EVIL_HOTSPOTS, HOTSPOTS, screenshot, wait_for_module

pytestmark = pytest.mark.usefixtures("portal")


def _number(text: str) -> float:
    """A figure as the German page writes it: 1.234,5 %."""
    return float(re.sub(r"[^\d,]", "", text).replace(",", "."))


def test_home_figures_match_the_datasets(page, live_server, portal):
    page.goto(live_server.url + "/")
    wifi, broadband = portal["wifi"], portal["broadband"]
    hotspot_sets = live_server.action("package_search", fq='+dataset_type:"wifi-hotspots"',
                                      rows=1000)["results"]
    assert wifi["name"] in {d["name"] for d in hotspot_sets} and len(hotspot_sets) > 1
    expected = {
        # the total over all hotspot collections, linking to their list
        "hotspots": (float(sum(d["hotspot_count"] for d in hotspot_sets)), "wifi-hotspots/"),
        "gigabit": (float(broadband["households_1gbit_share"]), broadband["name"]),
        "50mbit": (float(broadband["households_50mbit_share"]), broadband["name"]),
        "schools": (float(broadband["schools_connected"]), broadband["name"]),
    }
    for key, (value, dataset) in expected.items():
        figure = page.locator(f'[data-figure="{key}"]')
        expect(figure).to_be_visible()
        assert _number(figure.locator(".gk-figure-value").inner_text()) == value, key
        assert figure.locator("a").get_attribute("href").endswith(f"/{dataset}"), key
        expect(figure.locator(".gk-figure-date")).to_contain_text("Stand:")
    expect(page.locator('[data-figure="schools"]')).to_contain_text(
        f"von {broadband['schools_total']} Schulen")
    expect(page.locator('[data-figure="gigabit"] .gk-figure-date')).to_contain_text("31.12.2025")


def test_hotspot_marker_popup_opens_and_tiles_failure_is_reported(page, live_server, portal):
    page.goto(f"{live_server.url}/wifi-hotspots/{portal['wifi']['name']}", wait_until="networkidle")
    # tiles cannot load here (no network): the page says so, the markers still show
    expect(page.locator(".gk-map-status")).to_contain_text("Hintergrundkarte")
    markers = page.locator(".gk-marker, .marker-cluster")
    expect(markers.first).to_be_visible()
    target = page.locator('.gk-marker[title="Rathaus Buer"]')
    if not target.count():  # clustered at this zoom: open the cluster first
        page.locator(".marker-cluster").first.click()
    page.locator('.gk-marker[title="Rathaus Buer"]').click()
    popup = page.locator(".leaflet-popup-content")
    expect(popup).to_contain_text("Rathaus Buer")
    expect(popup).to_contain_text("Goldbergstraße 12")
    expect(popup).to_contain_text("gestört")
    expect(popup).to_contain_text("Stadt Gelsenkirchen")
    expect(page.locator(".gk-marker, .marker-cluster")).to_have_count(len(HOTSPOTS))
    screenshot(page, "wifi-hotspots-popup")


def test_hotspot_table_filters_as_you_type(page, live_server, portal):
    page.goto(f"{live_server.url}/wifi-hotspots/{portal['wifi']['name']}")
    rows = page.locator("#gk-hotspot-table tbody tr")
    expect(rows).to_have_count(len(HOTSPOTS))
    wait_for_module(page, "gk-table-filter")
    page.fill("#gk-hotspot-filter", "freifunk")
    expect(page.locator("#gk-hotspot-table tbody tr:visible")).to_have_count(2)
    expect(page.locator("#gk-hotspot-count")).to_have_text("2 von 4 Hotspots angezeigt")
    page.fill("#gk-hotspot-filter", "")
    expect(page.locator("#gk-hotspot-table tbody tr:visible")).to_have_count(4)


def test_hotspot_table_filters_without_javascript(browser, live_server, portal):
    context = browser.new_context(java_script_enabled=False, locale="de-DE")
    try:
        page = context.new_page()
        page.goto(f"{live_server.url}/wifi-hotspots/{portal['wifi']['name']}")
        expect(page.locator("#gk-hotspot-table tbody tr")).to_have_count(len(HOTSPOTS))
        page.fill("#gk-hotspot-filter", "Buer")
        page.locator(".gk-table-filter button").click()
        expect(page.locator("#gk-hotspot-table tbody tr")).to_have_count(1)
        expect(page.locator("#gk-hotspot-table tbody")).to_contain_text("Rathaus Buer")
        screenshot(page, "wifi-hotspots-no-javascript")
    finally:
        context.close()


def _focus_path(page, stop: str, limit: int = 250) -> list[dict]:
    """Tab through the page until an element matching ``stop`` has focus."""
    seen = []
    for _ in range(limit):
        page.keyboard.press("Tab")
        info = page.evaluate("""(stop) => {
            const el = document.activeElement;
            const style = getComputedStyle(el);
            return {tag: el.tagName, id: el.id, text: (el.innerText || el.value || '').trim().slice(0, 60),
                    href: el.getAttribute('href') || '', matches: el.matches(stop),
                    outline: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) >= 2};
        }""", stop)
        seen.append(info)
        if info["matches"]:
            return seen
    raise AssertionError(f"{stop} not reached by keyboard; path: {seen[-15:]}")


def test_keyboard_reaches_search_and_facets_with_visible_focus(page, live_server, portal):
    page.goto(f"{live_server.url}/dataset/")
    path = _focus_path(page, "#field-giant-search, #field-sitewide-search")
    assert path[-1]["outline"], path[-1]
    path = _focus_path(page, ".nav-facet a")
    assert path[-1]["outline"], path[-1]
    page.keyboard.press("Enter")
    page.wait_for_url(re.compile(r"/dataset/\?.+="))


def test_keyboard_reaches_table_and_downloads_with_visible_focus(page, live_server, portal):
    page.goto(f"{live_server.url}/wifi-hotspots/{portal['wifi']['name']}")
    assert page.evaluate("document.activeElement === document.body")
    page.keyboard.press("Tab")
    skip = page.locator(".gk-skip-link")
    expect(skip).to_be_focused()
    path = _focus_path(page, "#gk-hotspot-filter")
    assert path[-1]["outline"], path[-1]
    path = _focus_path(page, ".gk-table-scroll")
    assert path[-1]["outline"], path[-1]
    path = _focus_path(page, ".gk-downloads a")
    assert path[-1]["outline"] and "CSV" in path[-1]["text"], path[-1]
    screenshot(page, "wifi-hotspots-keyboard-focus")


def test_harvested_markup_and_script_do_not_execute(page, live_server, portal):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    evil = portal["evil"]
    for path in ("/", f"/wifi-hotspots/{evil['name']}", "/wifi-hotspots/", "/dataset/?q=WLAN"):
        page.goto(live_server.url + path, wait_until="networkidle")
        # the marker popup builds HTML in the browser: open it too
        if path.startswith("/wifi-hotspots/gk"):
            page.locator(".gk-marker").first.click()
            expect(page.locator(".leaflet-popup-content")).to_contain_text("<img src=x")
            expect(page.locator("#gk-hotspot-table tbody")).to_contain_text(EVIL_HOTSPOTS[0]["name"])
            expect(page.locator("h1").first).to_contain_text("<script>")
        injected = page.evaluate("""() => ({
            xss: window.__xss === undefined ? null : window.__xss,
            handlers: document.querySelectorAll('[onerror], [onload]').length,
            // executable scripts only; the map's rows travel in an inert JSON block
            scripts: Array.from(document.scripts).filter(
                s => s.type !== 'application/json' && s.text.includes('__xss')).length,
            imgs: document.querySelectorAll('img[src="x"]:not(.notes img)').length,
        })""")
        assert injected == {"xss": None, "handlers": 0, "scripts": 0, "imgs": 0}, (path, injected)
    assert not dialogs, dialogs
    assert EVIL in evil["title"]
    screenshot(page, "harvested-markup-escaped")


def test_broadband_page_shows_choropleth_table_and_trend(page, live_server, portal):
    page.goto(f"{live_server.url}/broadband-coverage/{portal['broadband']['name']}",
              wait_until="networkidle")
    expect(page.locator("#gk-bb-table tbody tr")).to_have_count(3)
    expect(page.locator("#gk-bb-table")).to_contain_text("Altstadt")
    expect(page.locator("path.leaflet-interactive")).to_have_count(3)
    expect(page.locator("svg.gk-trend polyline")).to_have_count(3)
    expect(page.locator("svg.gk-trend")).to_contain_text("31.12.2025")
    page.select_option("#gk-indicator", "1000")
    page.locator(".gk-indicator-form button").click()
    expect(page.locator(".gk-legend-title")).to_have_text("Haushalte mit mindestens 1 Gbit/s")
    screenshot(page, "broadband-coverage-1gbit")


def test_pages_render_in_english(page, live_server, portal):
    page.goto(f"{live_server.url}/en/")
    expect(page.locator("#gk-home-title")).to_have_text("Open data for Gelsenkirchen")
    expect(page.locator(".gk-brand")).to_contain_text("Die Vernetzte Stadt")
    page.goto(f"{live_server.url}/en/impressum")
    expect(page.locator("h1")).to_have_text("Legal notice")
    page.goto(f"{live_server.url}/impressum")
    expect(page.locator("h1")).to_have_text("Impressum")
    screenshot(page, "impressum-placeholder")


def test_bounding_box_search_filters_by_location(page, live_server, portal):
    page.goto(f"{live_server.url}/dataset/?ext_bbox=6.9,51.4,7.3,51.7", wait_until="networkidle")
    expect(page.locator("#dataset-map-container.leaflet-container")).to_be_visible()
    expect(page.locator(".dataset-item").first).to_be_visible()
    page.goto(f"{live_server.url}/dataset/?ext_bbox=13.0,52.3,13.6,52.7")  # Berlin
    expect(page.locator(".dataset-item")).to_have_count(0)
