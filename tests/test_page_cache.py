"""What the pages derive from harvested data is computed once per version
of the dataset (page_cache.py), and anonymous pages carry cache headers a
front proxy can use (http_cache.py) - never for logged-in users, API tokens
or private data."""
from __future__ import annotations

import re

import pytest

from ckanext.gelsenkirchen import compat, page_cache
from tests.browser.sample_data import HOTSPOT_FIELDS, HOTSPOTS
from tests.logic.data import (  # noqa: F401 (fixtures)
    call_as,
    dataset_dict,
    organization_fixture,
)

PASSWORD = "correct123-Gelsenkirchen"
# CKAN 2.10 saves a beaker session, and sends its cookie, on every response
# (ckanext/gelsenkirchen/compat.py); 2.11 and 2.12 only for a session in use
BEAKER_SESSIONS = compat.beaker_sessions()


def _wifi(sysadmin: dict, organization: dict, private: bool = False,
          rows: list[dict] | None = None) -> tuple[dict, str]:
    pkg = call_as(sysadmin, "package_create", **dataset_dict(
        "wifi-hotspots", owner_org=organization["id"], private=private,
        title="Geheime Hotspots" if private else "Öffentliche Hotspots"))
    ds = call_as(sysadmin, "datastore_create",
                 resource={"package_id": pkg["id"], "name": "Hotspots", "format": "CSV"},
                 fields=HOTSPOT_FIELDS, records=rows or HOTSPOTS, primary_key=["id"])
    return call_as(sysadmin, "package_show", id=pkg["id"]), ds["resource_id"]


def _rows(body: str) -> list[str]:
    table = body.split('id="gk-hotspot-table"', 1)[1].split("</table>", 1)[0]
    return re.findall(r'<th scope="row">([^<]*)</th>', table)


@pytest.fixture()
def sysadmin(plugin_db):  # with a known password, to log in
    from ckan.tests import factories
    return factories.Sysadmin(password=PASSWORD)


def _login(app, user: dict) -> None:
    form = app.get("/user/login").body
    token = re.search(r'name="_csrf_token" value="([^"]+)"', form).group(1)
    app.post("/user/login", data={"login": user["name"], "password": PASSWORD,
                                  "_csrf_token": token})


def _logout(app) -> None:
    page = app.get("/dataset/").body
    token = re.search(r'name="_csrf_token" value="([^"]+)"', page)
    if token:  # CKAN 2.11+: a form; 2.10: a link
        app.post("/user/_logout", data={"_csrf_token": token.group(1)})
    else:
        app.get("/user/_logout")
    assert 'name="_csrf_token"' not in app.get("/dataset/").body


@pytest.fixture()
def visitor(app):
    """One browser that keeps its cookies from request to request: on CKAN
    2.10 and 2.11 every `app.get` starts a new client, so a login would be
    forgotten by the next request."""
    return app.test_client()


@pytest.fixture()
def fresh_cache():
    page_cache.cache.clear()
    yield page_cache.cache
    page_cache.cache.clear()


@pytest.mark.usefixtures("with_plugins", "fresh_cache")
def test_a_cache_hit_returns_the_same_page(app, organization, sysadmin):
    pkg, _rid = _wifi(sysadmin, organization)
    url = f"/wifi-hotspots/{pkg['name']}"
    first = app.get(url).body
    misses = page_cache.cache.misses
    second = app.get(url).body
    assert page_cache.cache.misses == misses and page_cache.cache.hits >= 1
    assert first == second
    # the block is served rendered; its scripts are still named on a hit
    for asset in ("_hotspot_map.js", "_table_filter.js", "_map.css"):
        assert asset in second, asset
    assert _rows(second) == sorted(h["name"] for h in HOTSPOTS)
    # the table filter works on the cached rows without a new computation
    filtered = app.get(url, params={"hotspot_filter": "buer"}).body
    assert _rows(filtered) == ["Rathaus Buer"]
    assert page_cache.cache.misses == misses


@pytest.mark.usefixtures("with_plugins", "fresh_cache")
def test_a_new_harvest_invalidates_the_page(app, organization, sysadmin):
    """As a harvest publishes: the DataStore rows first, then package_update."""
    from ckanext.gelsenkirchen.harvesters.datastore import replace_rows

    pkg, rid = _wifi(sysadmin, organization)
    url = f"/wifi-hotspots/{pkg['name']}"
    assert "Veltins-Arena" in _rows(app.get(url).body)
    new_rows = [dict(HOTSPOTS[0], id="gk-9", name="Neuer Hotspot Hauptbahnhof")]
    replace_rows(rid, HOTSPOT_FIELDS, new_rows)
    call_as(sysadmin, "package_patch", id=pkg["id"], hotspot_count=1)
    assert _rows(app.get(url).body) == ["Neuer Hotspot Hauptbahnhof"]
    # the old version's entries (derived data, rendered block) were replaced,
    # not kept beside the new ones
    pages = [key[0] for key in page_cache.cache._entries if pkg["id"] in key]
    assert sorted(pages) == ["view", "wifi-hotspots"]


@pytest.mark.usefixtures("with_plugins", "fresh_cache")
def test_broadband_views_per_indicator_and_language(app, organization, sysadmin):
    from tests.browser.sample_data import BROADBAND_FIELDS, BROADBAND_ROWS
    pkg = call_as(sysadmin, "package_create", **dataset_dict(
        "broadband-coverage", owner_org=organization["id"]))
    call_as(sysadmin, "datastore_create",
            resource={"package_id": pkg["id"], "name": "Versorgung", "format": "CSV"},
            fields=BROADBAND_FIELDS, records=BROADBAND_ROWS)
    url = f"/broadband-coverage/{pkg['name']}"
    de_50 = app.get(url).body
    assert "Haushalte mit mindestens 50 Mbit/s" in de_50.split('class="gk-legend-title">')[1]
    de_1000 = app.get(url, params={"indicator": "1000"}).body
    assert "1 Gbit/s" in de_1000.split('class="gk-legend-title">')[1].split("<")[0]
    en = app.get("/en" + url).body
    assert "Households with at least 50 Mbit/s" in en
    assert "_choropleth.js" in app.get(url).body  # a hit still names its script
    # unknown indicators share the default's entry instead of filling the cache
    entries = len(page_cache.cache)
    legend = de_50.split('class="gk-legend-title">')[1].split("<")[0]
    for junk in ("x", "y", "<script>"):
        page = app.get(url, params={"indicator": junk}).body
        assert page.split('class="gk-legend-title">')[1].split("<")[0] == legend
    assert len(page_cache.cache) == entries


@pytest.mark.usefixtures("with_plugins", "fresh_cache")
def test_memory_is_bounded(app, organization, sysadmin, monkeypatch):
    monkeypatch.setitem(__import__("ckan.plugins.toolkit", fromlist=["config"]).config,
                        page_cache.MAX_ENTRIES_OPTION, 2)
    names = [_wifi(sysadmin, organization)[0]["name"] for _ in range(3)]
    for name in names:
        app.get(f"/wifi-hotspots/{name}")
    assert len(page_cache.cache) == 2


@pytest.mark.usefixtures("with_plugins", "fresh_cache")
def test_a_private_dataset_is_not_leaked_to_anonymous_users(visitor, organization, sysadmin):
    pkg, rid = _wifi(sysadmin, organization, private=True,
                     rows=[dict(HOTSPOTS[0], id="x", name="Geheimer Standort")])
    url = f"/wifi-hotspots/{pkg['name']}"
    _login(visitor, sysadmin)
    seen = visitor.get(url)
    assert "Geheimer Standort" in seen.body  # cached now, for the sysadmin
    assert seen.headers["Cache-Control"] == "private, no-store"
    _logout(visitor)
    anonymous = visitor.get(url, status=404)
    assert "Geheimer Standort" not in anonymous.body
    api = visitor.get("/api/3/action/datastore_search", query_string={"resource_id": rid}, status=403)
    assert "Geheimer Standort" not in api.body
    # the home page's cached figures and lists count public datasets only
    assert "Geheime Hotspots" not in visitor.get("/").body


@pytest.mark.usefixtures("with_plugins", "fresh_cache")
def test_cache_headers_for_anonymous_and_logged_in_users(app, visitor, organization, sysadmin):
    pkg, _rid = _wifi(sysadmin, organization)
    pages = ["/", "/dataset/", f"/wifi-hotspots/{pkg['name']}",
             "/api/3/action/package_search?q=Hotspots"]
    for path in pages:
        resp = app.test_client().get(path)  # a first visit, without cookies
        if BEAKER_SESSIONS:  # CKAN 2.10: a session cookie on every response
            assert resp.headers["Cache-Control"] == "private, no-store", path
            continue
        assert resp.headers["Cache-Control"] == "public, max-age=60", path
        assert {"Cookie", "Accept"} <= {v.strip() for v in resp.headers["Vary"].split(",")}
        assert "Set-Cookie" not in resp.headers, path
    # a page with a form token is tied to the visitor's session
    assert visitor.get("/user/login").headers["Cache-Control"] == "private, no-store"
    # API token requests, even for public data
    from ckan.tests import factories
    token = factories.APIToken(user=sysadmin["id"])["token"]
    resp = visitor.get("/api/3/action/package_search", headers={"Authorization": token})
    assert resp.headers["Cache-Control"] == "private, no-store"
    # logged-in users (session cookie)
    _login(visitor, sysadmin)
    for path in pages:
        resp = visitor.get(path)
        assert resp.headers["Cache-Control"] == "private, no-store", path
        assert "public" not in resp.headers["Cache-Control"]


@pytest.mark.usefixtures("with_plugins", "fresh_cache")
def test_languages_are_links_without_a_session(app):
    resp = app.get("/dataset/")
    links = re.findall(r'<a href="([^"]+)" lang="(de|en)" hreflang="\2"', resp.body)
    assert {lang for _href, lang in links} == {"de", "en"}
    assert any(href.startswith("/en/dataset") for href, lang in links if lang == "en")
    assert 'name="_csrf_token"' not in resp.body
