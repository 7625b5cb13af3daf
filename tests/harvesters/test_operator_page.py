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

from . import support
from .wifi import support as ws

pytestmark = [
    pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.allow_private_addresses", "true"),
    pytest.mark.usefixtures("with_plugins", "plugin_db"),
]
URL = f"{ws.FEEDS}/wlan.csv"


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


_auth = support.api_headers
_member = support.org_member


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
    # the job error in German, its reason too (stored in English)
    assert ("Löschschutz: der Stand würde 6 von 10 veröffentlichten Zeilen"
            in soup.select_one("#gk-op-state").parent.get_text(" ", strip=True))
    guard = soup.select_one(".gk-op-guard")
    assert "6 von 10 veröffentlichten Zeilen (60\u00a0%)" in guard.get_text(" ", strip=True)
    removed = [[td.get_text(strip=True) for td in tr("td")] for tr in guard.select("tbody tr")]
    assert removed[0] == ["GE-005", "Hotspot Altstadt 5"] and len(removed) == 6
    stopped = [td.get_text(strip=True) for td in soup.select(".gk-op-runs tbody tr")[0]("td")]
    assert stopped[2:6] == ["–", "–", "–", "–"]  # nothing published, new, changed or gone
    form = guard.form
    assert form["method"] == "post" and form.find("input", attrs={"name": "_csrf_token"})
    assert form.button.get_text(strip=True) == "Diesen Stand trotzdem veröffentlichen"

    response = app.post(f"{page}/release", headers=editor, follow_redirects=False)
    assert response.status_code == 302
    support.assert_released_by(harvested, editor_user)

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


# ---------------------------------------------------------------- preview


def _preview(cli, *args: str):
    from ckanext.gelsenkirchen.cli import gelsenkirchen

    return cli.invoke(gelsenkirchen, ["harvest-preview", *args])


def test_preview_shows_what_a_run_would_publish_and_writes_nothing(cli, harvested, rsps):
    from ckanext.harvest.model import HarvestJob

    jobs = model_count(HarvestJob)
    rows = ws.hotspots(10, start=2)  # GE-001 gone, GE-011 new, GE-002 renamed
    rows[0] = rows[0].replace("Hotspot Altstadt 2", "Hotspot umbenannt")
    rows[0] = rows[0].replace("Hotspot Buer 2", "Hotspot umbenannt")
    rsps.replace(responses.GET, URL, body=ws.city_csv([*rows, ws.city_row("GE-X", "?", x="")]),
                 content_type="text/csv")
    result = _preview(cli, harvested["name"], "--json")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert (data["records_read"], data["valid"]) == (11, 10)
    assert data["changes"] == {"new": 1, "changed": 1, "gone": 1}
    assert data["changed_columns"] == {"GE-002": ["name"]}
    assert data["skipped"] == [{"row": 12, "id": "GE-X", "reason": "missing coordinates"}]
    assert data["guard"] is None
    new = data["new_features"]  # the map of the new rows: GE-011 where the feed puts it
    assert [(f["id"], f["geometry"]["type"]) for f in new["features"]] == [("GE-011", "Point")]
    assert new["total"] == 1
    assert model_count(HarvestJob) == jobs  # nothing written
    assert len(ws.rows_of(ws.dataset_of(harvested))) == 10

    # a configuration to try: the guard would stop a run that keeps 1 row in 10
    rsps.replace(responses.GET, URL, body=ws.city_csv(ws.hotspots(1)), content_type="text/csv")
    result = _preview(cli, harvested["name"], "--config", '{"max_drop_share": 0.5}')
    assert result.exit_code == 1
    assert ("The deletion guard would stop it: the snapshot would drop 9 of 10 published rows "
            "(90%, more than the allowed 50%)") in result.output

    # a source that answers with an HTML page: the reason a run would give
    rsps.replace(responses.GET, URL, body="<!DOCTYPE html><html><title>Login</title></html>",
                 content_type="text/html")
    result = _preview(cli, harvested["name"])
    assert result.exit_code == 1
    assert result.output.startswith("A run would fail: The source could not be harvested: the "
                                    "source answered HTTP 200 with an HTML page ('Login')")
    assert _preview(cli, "keine-quelle").exit_code == 1


def model_count(table) -> int:
    from ckan import model

    return model.Session.query(table).count()


def test_preview_in_the_web_interface_in_german(app, harvested, rsps):
    editor = _auth(_member(harvested["owner_org"], "editor"))
    page = f"/harvest/{harvested['name']}/runs"
    form = _soup(app.get(page, headers=editor)).select_one("form.gk-preview-form")
    assert form.find("input", attrs={"name": "_csrf_token"}) and form.textarea["name"] == "config"
    rsps.replace(responses.GET, URL, body=ws.city_csv(ws.hotspots(11)), content_type="text/csv")
    soup = _soup(app.post(f"{page}/preview", headers=editor, data={"config": ""}))
    result = [li.get_text(strip=True) for li in soup.select(".gk-preview-result li")]
    assert result == ["11 Datensätze gelesen, 11 gültig, 0 übersprungen",
                      "Verglichen mit den veröffentlichten Zeilen: +1 neu, ~0 geändert, −0 entfallen",
                      "Der Löschschutz würde ihn veröffentlichen lassen."], result
    assert len(ws.rows_of(ws.dataset_of(harvested))) == 10  # nothing published
    assert soup.find("h2", id="gk-preview-map-title").get_text() == "Karte der neuen Zeilen"
    assert soup.select_one("#gk-preview-map")["data-module"] == "gk-preview-map"
    features = json.loads(soup.select_one("#gk-preview-data").string)["features"]
    assert [f["id"] for f in features] == ["GE-011"]
    member = _auth(_member(harvested["owner_org"], "member"))
    assert app.post(f"{page}/preview", headers=member).status_code == 403
