"""The harvest actions (issue 16, item 6): gelsenkirchen_harvest_history,
gelsenkirchen_harvest_preview and gelsenkirchen_harvest_release_guard
through CKAN's HTTP API, with who may call them. Real WiFi harvests; the
remote source mocked with ``responses``."""
from __future__ import annotations

import pytest
import responses
from ckan.tests import factories

from .support import api_headers, assert_released_by, org_member
from .wifi import support as ws

pytestmark = pytest.mark.usefixtures("with_plugins", "plugin_db")
URL = f"{ws.FEEDS}/wlan.csv"
API = "/api/3/action"


@pytest.fixture
def source(rsps):
    """A source whose run published 10 hotspots and skipped 1 row."""
    ws.mock(rsps, URL, ws.city_csv([*ws.hotspots(10), ws.city_row("GE-X1", "ohne X", x="")]))
    created = ws.create_source(URL, {}, frequency="WEEKLY")
    assert ws.run(created)["statuses"] == ["added"]
    return created


def _calls(app, name: str, headers: dict[str, str]) -> dict[str, int]:
    return {
        "history": app.get(f"{API}/gelsenkirchen_harvest_history", headers=headers,
                           query_string={"id": name}).status_code,
        "preview": app.post(f"{API}/gelsenkirchen_harvest_preview", headers=headers,
                            json={"id": name}).status_code,
        "release": app.post(f"{API}/gelsenkirchen_harvest_release_guard", headers=headers,
                            json={"id": name}).status_code}


def test_only_editors_of_the_sources_organization_and_sysadmins_may_call_them(app, source):
    org_id = source["owner_org"]
    refused = {"history": 403, "preview": 403, "release": 403}
    # the release is refused for what the last run was (409), not for who asks
    allowed = {"history": 200, "preview": 200, "release": 409}
    expected = {"anonymous": (None, refused),
                "other organization's editor": (
                    org_member(factories.Organization()["id"], "editor"), refused),
                "member": (org_member(org_id, "member"), refused),
                "editor": (org_member(org_id, "editor"), allowed),
                "sysadmin": (factories.Sysadmin(), allowed)}
    for who, (user, statuses) in expected.items():
        headers = api_headers(user) if user else {}
        assert _calls(app, source["name"], headers) == statuses, who
    sysadmin = api_headers(factories.Sysadmin())
    assert set(_calls(app, "keine-quelle", sysadmin).values()) == {404}


def test_history_and_preview_say_what_the_operator_page_says(app, source, rsps):
    editor = api_headers(org_member(source["owner_org"], "editor"))
    result = app.get(f"{API}/gelsenkirchen_harvest_history", headers=editor,
                     query_string={"id": source["name"], "lang": "en"}).json["result"]
    assert result["source"]["name"] == source["name"] and result["frequency"] == "WEEKLY"
    assert result["next_due"]
    run = result["runs"][0]
    assert (run["state"], run["words"], run["published"], run["new"], run["skipped"]) == \
        ("warnings", "published with warnings: 1 rows skipped", 10, 10, 1)
    assert run["skipped_rows"] == [{"row": 12, "id": "GE-X1", "reason": "missing coordinates"}]
    german = app.get(f"{API}/gelsenkirchen_harvest_history", headers=editor,
                     query_string={"id": source["id"], "lang": "de"}).json["result"]
    assert german["runs"][0]["skipped_rows"][0]["reason"] == "Koordinaten fehlen"

    rsps.replace(responses.GET, URL, body=ws.city_csv(ws.hotspots(2)), content_type="text/csv")
    preview = app.post(f"{API}/gelsenkirchen_harvest_preview", headers=editor,
                       json={"id": source["name"], "config": {"max_drop_share": 0.5},
                             "lang": "en"}).json["result"]
    assert (preview["valid"], preview["changes"]) == (2, {"new": 0, "changed": 0, "gone": 8})
    assert preview["guard"].startswith("the snapshot would drop 8 of 10 published rows (80%")
    too_long = app.post(f"{API}/gelsenkirchen_harvest_preview", headers=editor,
                        json={"id": source["name"], "config": " " * 10 + "x" * 20_001})
    assert too_long.status_code == 409
    assert len(ws.rows_of(ws.dataset_of(source))) == 10  # nothing published


def test_release_guard_through_the_api(app, source, rsps):
    editor_user = org_member(source["owner_org"], "editor")
    rsps.replace(responses.GET, URL, body=ws.city_csv(ws.hotspots(4)), content_type="text/csv")
    assert ws.run(source)["statuses"] == ["errored"]
    response = app.post(f"{API}/gelsenkirchen_harvest_release_guard",
                        headers=api_headers(editor_user), json={"id": source["name"]})
    assert response.status_code == 200 and response.json["result"]["released"] is True
    assert_released_by(source, editor_user)
    assert ws.run(source)["statuses"] == ["updated"]
    assert len(ws.rows_of(ws.dataset_of(source))) == 4
