"""The operator page of a harvest source (/harvest/<id>/runs): who may see
it, the runs in rows and words in German and English, the skipped rows as
table and CSV, and releasing the deletion guard. Real WiFi harvests; the
remote source mocked with ``responses``."""
from __future__ import annotations

import csv
import io
import json

import ckan.plugins.toolkit as tk
import pytest
import responses
from bs4 import BeautifulSoup
from ckan.tests import factories

from .wifi import support as ws

pytestmark = [
    pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.allow_private_addresses", "true"),
    pytest.mark.usefixtures("with_plugins", "plugin_db"),
]
URL = f"{ws.FEEDS}/wlan.csv"


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


def _auth(user: dict) -> dict[str, str]:
    return {"Authorization": factories.APIToken(user=user["name"])["token"]}


def _member(org_id: str, role: str) -> dict:
    user = factories.User()
    tk.get_action("organization_member_create")(
        {"ignore_auth": True, "user": factories.Sysadmin()["name"]},
        {"id": org_id, "username": user["name"], "role": role})
    return user


@pytest.fixture
def harvested(rsps):
    """A source whose run published 10 hotspots and skipped 2 rows."""
    rows = [*ws.hotspots(10), ws.city_row("GE-X1", "ohne X", x=""),
            ws.city_row("=GE-X2", "Formel", x="")]
    ws.mock(rsps, URL, ws.city_csv(rows))
    source = ws.create_source(URL, {}, frequency="WEEKLY")
    out = ws.run(source)
    assert out["statuses"] == ["added"], out
    return source


def test_only_editors_of_the_sources_organization_and_sysadmins_see_it(app, harvested):
    path = f"/harvest/{harvested['name']}/runs"
    org_id = harvested["owner_org"]
    other_editor = _member(factories.Organization()["id"], "editor")
    expected = {"anonymous": (None, 403), "other organization's editor": (other_editor, 403),
                "member": (_member(org_id, "member"), 403),
                "editor": (_member(org_id, "editor"), 200),
                "admin": (_member(org_id, "admin"), 200), "sysadmin": (factories.Sysadmin(), 200)}
    for who, (user, status) in expected.items():
        headers = _auth(user) if user else {}
        for url in (path, f"{path}/skipped.csv"):
            assert app.get(url, headers=headers).status_code == status, (who, url)
        if status == 403:
            response = app.post(f"{path}/release", headers=headers, follow_redirects=False)
            assert response.status_code == 403, who
    sysadmin = _auth(factories.Sysadmin())
    assert app.get("/harvest/keine-quelle/runs", headers=sysadmin).status_code == 404


def test_runs_state_and_skipped_rows_in_german_and_english(app, harvested):
    editor = _auth(_member(harvested["owner_org"], "editor"))
    soup = _soup(app.get(f"/harvest/{harvested['name']}/runs", headers=editor))
    assert soup.select_one(".gk-op-state").strong.get_text() == \
        "veröffentlicht mit Warnungen, 2 Zeilen übersprungen"
    assert "Nächster fälliger Lauf" in soup.get_text()
    assert "als ein „Fehler“" in soup.select_one(".gk-op-note").get_text()  # ckanext-harvest's
    cells = [td.get_text(strip=True) for td in soup.select(".gk-op-runs tbody tr")[0]("td")]
    assert cells[1:7] == ["veröffentlicht mit Warnungen, 2 Zeilen übersprungen",
                          "10", "10", "0", "0", "2"], cells
    skipped = [[td.get_text(strip=True) for td in tr("td")]
               for tr in soup.select(".gk-op-skipped tbody tr")]
    assert skipped == [["12", "GE-X1", "Koordinaten fehlen"],
                       ["13", "=GE-X2", "Koordinaten fehlen"]]
    assert soup.select_one("svg[role=img]")["aria-labelledby"] == "gk-op-chart-caption"

    english = _soup(app.get(f"/en/harvest/{harvested['name']}/runs", headers=editor))
    assert english.select_one(".gk-op-state").strong.get_text() == \
        "published with warnings: 2 rows skipped"
    assert [td.get_text(strip=True) for td in english.select(".gk-op-skipped tbody tr")[0]("td")] \
        == ["12", "GE-X1", "missing coordinates"]

    download = app.get(f"/harvest/{harvested['name']}/runs/skipped.csv", headers=editor)
    assert download.headers["Content-Type"].startswith("text/csv")
    assert list(csv.reader(io.StringIO(download.get_data(as_text=True)))) == [
        ["row", "id", "reason"], ["12", "GE-X1", "Koordinaten fehlen"],
        ["13", "'=GE-X2", "Koordinaten fehlen"]]  # no formula in a spreadsheet


def test_guard_stop_is_explained_and_released_by_an_editor(app, harvested, rsps):
    editor_user = _member(harvested["owner_org"], "editor")
    editor = _auth(editor_user)
    rsps.replace(responses.GET, URL, body=ws.city_csv(ws.hotspots(4)), content_type="text/csv")
    assert ws.run(harvested)["statuses"] == ["errored"]
    page = f"/harvest/{harvested['name']}/runs"
    soup = _soup(app.get(page, headers=editor))
    assert soup.select_one(".gk-op-state").strong.get_text() == \
        "Löschschutz hat angehalten: 60 % weniger Zeilen"
    guard = soup.select_one(".gk-op-guard")
    assert "6 von 10 veröffentlichten Zeilen (60 %)" in guard.get_text(" ", strip=True)
    removed = [[td.get_text(strip=True) for td in tr("td")] for tr in guard.select("tbody tr")]
    assert removed[0] == ["GE-005", "Hotspot Altstadt 5"] and len(removed) == 6
    form = guard.form
    assert form["method"] == "post" and form.find("input", attrs={"name": "_csrf_token"})
    assert form.button.get_text(strip=True) == "Diesen Stand trotzdem veröffentlichen"

    response = app.post(f"{page}/release", headers=editor, follow_redirects=False)
    assert response.status_code == 302
    source = tk.get_action("harvest_source_show")({"ignore_auth": True, "use_cache": False},
                                                  {"id": harvested["id"]})
    assert json.loads(source["config"])["accept_drop"] is True
    activity = tk.get_action("package_activity_list")({"ignore_auth": True},
                                                      {"id": harvested["id"]})[0]
    assert activity["user_id"] == editor_user["id"]

    out = ws.run(harvested)
    assert out["statuses"] == ["updated"], out
    assert len(ws.rows_of(ws.dataset_of(harvested))) == 4
    soup = _soup(app.get(page, headers=editor))
    assert soup.select_one(".gk-op-state").strong.get_text() == "veröffentlicht mit Warnungen"
    assert not soup.select_one(".gk-op-guard")
    # released for one run only
    source = tk.get_action("harvest_source_show")({"ignore_auth": True, "use_cache": False},
                                                  {"id": harvested["id"]})
    assert "accept_drop" not in json.loads(source["config"])


def _doctor_line(cli) -> str:
    from ckanext.gelsenkirchen.cli import gelsenkirchen

    output = cli.invoke(gelsenkirchen, ["doctor"]).output
    return next(line for line in output.splitlines() if "] harvest runs: " in line)


def test_doctor_says_published_with_warnings_and_fails_on_a_guard_stop(cli, harvested, rsps):
    assert _doctor_line(cli) == ("[ OK ] harvest runs: 1 source(s) ran (1 published with "
                                 "warnings): 'WLAN-Hotspots Test' published with warnings: "
                                 "2 rows skipped")
    rsps.replace(responses.GET, URL, body=ws.city_csv(ws.hotspots(4)), content_type="text/csv")
    ws.run(harvested)
    line = _doctor_line(cli)
    assert line.startswith("[FAIL] harvest runs: 'WLAN-Hotspots Test' deletion guard stopped "
                           "the run: rows down by 60%"), line
    assert line.endswith("/harvest/wlan-quelle/runs"), line

