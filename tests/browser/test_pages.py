"""The portal's pages in real headless Chromium: accessibility (axe-core),
screenshots, keyboard use, what a person sees, and escaping of harvested text."""
from __future__ import annotations

import pytest

from .conftest import run_axe, screenshot

pytestmark = pytest.mark.usefixtures("portal")

# ckanext-harvest lists 20 sources per page
HARVEST_PAGE_SIZE = 20


@pytest.fixture(scope="module")
def many_sources(live_server, portal) -> None:
    """Enough harvest sources for a second page of /harvest/ (never harvested)."""
    for i in range(HARVEST_PAGE_SIZE + 1):
        live_server.action("harvest_source_create", name=f"quelle-{i:02d}",
                           title=f"WLAN-Quelle {i:02d}", url=f"https://daten.example.org/{i}.csv",
                           source_type="gelsenkirchen_wifi", owner_org=portal["org"]["id"],
                           frequency="MANUAL", config="{}")


def _pages(portal: dict) -> dict[str, str]:
    return {
        "home": "/",
        "search-with-facets": "/dataset/?tags=Bildung",
        "search-page-2": "/dataset/?page=2",
        "search-no-results": "/dataset/?q=gibtesnicht",
        "dataset": f"/dataset/{portal['datasets'][0]['name']}",
        "wifi-hotspots": f"/wifi-hotspots/{portal['wifi']['name']}",
        "broadband-coverage": f"/broadband-coverage/{portal['broadband']['name']}",
        "organization": f"/organization/{portal['org']['name']}",
        "harvest-sources": "/harvest/",
        "harvest-sources-page-2": "/harvest/?page=2",
        "login": "/user/login",
        "impressum": "/impressum",
        "datenschutz": "/datenschutz",
        "barrierefreiheit": "/barrierefreiheit",
    }


PAGE_NAMES = list(_pages({"datasets": [{"name": ""}], "wifi": {"name": ""},
                          "broadband": {"name": ""}, "org": {"name": ""}}))


@pytest.mark.usefixtures("many_sources")
@pytest.mark.parametrize("name", PAGE_NAMES)
def test_page_has_no_serious_accessibility_violations(page, live_server, portal, name):
    response = page.goto(live_server.url + _pages(portal)[name], wait_until="networkidle")
    assert response.status == 200
    screenshot(page, name)
    result = run_axe(page, name)
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                         for v in serious]
