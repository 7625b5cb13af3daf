"""The portal's pages in real headless Chromium: accessibility (axe-core),
screenshots, keyboard use, what a person sees, and escaping of harvested text."""
from __future__ import annotations

import pytest

from .conftest import run_axe, screenshot

pytestmark = pytest.mark.usefixtures("portal")


def _pages(portal: dict) -> dict[str, str]:
    return {
        "home": "/",
        "search-with-facets": "/dataset/?tags=Bildung",
        "dataset": f"/dataset/{portal['datasets'][0]['name']}",
        "wifi-hotspots": f"/wifi-hotspots/{portal['wifi']['name']}",
        "broadband-coverage": f"/broadband-coverage/{portal['broadband']['name']}",
        "organization": f"/organization/{portal['org']['name']}",
        "harvest-sources": "/harvest/",
        "login": "/user/login",
        "impressum": "/impressum",
        "datenschutz": "/datenschutz",
        "barrierefreiheit": "/barrierefreiheit",
    }


PAGE_NAMES = list(_pages({"datasets": [{"name": ""}], "wifi": {"name": ""},
                          "broadband": {"name": ""}, "org": {"name": ""}}))


@pytest.mark.parametrize("name", PAGE_NAMES)
def test_page_has_no_serious_accessibility_violations(page, live_server, portal, name):
    response = page.goto(live_server.url + _pages(portal)[name], wait_until="networkidle")
    assert response.status == 200
    screenshot(page, name)
    result = run_axe(page, name)
    serious = [v for v in result["violations"] if v["impact"] in ("serious", "critical")]
    assert not serious, [(v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3])
                         for v in serious]
