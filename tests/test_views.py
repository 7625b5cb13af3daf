"""Theme pages through CKAN's test client: legal pages, home page, CSRF, languages."""
from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

from tests.logic.data import (  # noqa: F401 (fixtures)
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)

LEGAL = {"/impressum": "Impressum", "/datenschutz": "Datenschutz",
         "/barrierefreiheit": "Erklärung zur Barrierefreiheit"}


def _soup(response) -> BeautifulSoup:
    return BeautifulSoup(response.get_data(as_text=True), "html.parser")


@pytest.mark.usefixtures("with_plugins", "non_clean_db")
@pytest.mark.parametrize("path,title", LEGAL.items())
def test_legal_page_shows_placeholder_until_configured(app, path, title):
    soup = _soup(app.get(path))
    assert soup.h1.get_text(strip=True) == title
    placeholder = soup.select_one(".gk-placeholder").get_text(" ", strip=True)
    assert "noch nicht ausgefüllt" in placeholder
    assert "ckanext.gelsenkirchen.legal." in placeholder


@pytest.mark.usefixtures("with_plugins", "non_clean_db")
@pytest.mark.ckan_config("ckanext.gelsenkirchen.legal.impressum",
                         "## Anbieter\n\nStadt Gelsenkirchen <script>alert(1)</script>")
def test_legal_page_renders_the_configured_markdown_safely(app):
    soup = _soup(app.get("/impressum"))
    assert soup.select_one(".gk-legal h2").get_text(strip=True) == "Anbieter"
    assert not soup.select_one(".gk-placeholder")
    assert not [s for s in soup.find_all("script") if "alert(1)" in s.get_text()]


@pytest.mark.usefixtures("with_plugins", "non_clean_db")
def test_legal_pages_in_english(app):
    soup = _soup(app.get("/en/barrierefreiheit"))
    assert soup.h1.get_text(strip=True) == "Accessibility statement"
    assert "has not been filled in yet" in soup.select_one(".gk-placeholder").get_text()


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_home_page_identity_footer_links_and_no_figures_without_datasets(app):
    soup = _soup(app.get("/"))
    assert "Gelsenkirchen" in soup.select_one(".gk-brand").get_text()
    assert "Die Vernetzte Stadt" in soup.select_one(".gk-brand").get_text()
    assert "Die Vernetzte Stadt" in soup.select_one("footer").get_text()
    assert soup.select_one("#gk-home-title")
    footer_links = {a["href"] for a in soup.select("footer a")}
    assert {"/impressum", "/datenschutz", "/barrierefreiheit"} <= footer_links
    # no harvested datasets: the key-figure block is absent, not zeros
    assert not soup.select(".gk-figures")
    assert soup.select_one("a.gk-skip-link")["href"] == "#content"
    assert soup.select_one("#content")
    assert soup.html["lang"] == "de"


@pytest.mark.usefixtures("with_plugins", "non_clean_db")
@pytest.mark.parametrize("path", ["/", "/dataset/", "/user/login", "/impressum"])
def test_every_post_form_carries_the_csrf_token(app, path):
    soup = _soup(app.get(path))
    forms = soup.find_all("form", method=lambda m: m and m.lower() == "post")
    # the languages are links (no session for anonymous pages: http_cache.py)
    assert forms or path != "/user/login"
    for form in forms:
        assert form.find("input", attrs={"name": "_csrf_token"}), form.get("action")


@pytest.mark.usefixtures("with_plugins", "non_clean_db")
def test_stylesheet_is_served_from_the_bundle_not_a_cdn(app):
    soup = _soup(app.get("/"))
    hrefs = [link["href"] for link in soup.find_all("link", rel="stylesheet")]
    assert any("gelsenkirchen" in h and "main" in h for h in hrefs), hrefs
    external = [h for h in hrefs + [s.get("src", "") for s in soup.find_all("script")]
                if h.startswith(("http://", "https://", "//"))]
    assert not external


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.ckan_config("ckan.datasets_per_page", "2")
def test_every_pagination_link_has_a_name(app, organization, sysadmin):
    for i in range(5):
        call_as(sysadmin, "package_create",
                **dataset_dict(owner_org=organization["id"], name=f"seite-{i}"))
    for path in ("/dataset/", "/dataset/?page=2", "/dataset/?page=3",
                 f"/organization/{organization['name']}?page=2"):
        nav = _soup(app.get(path)).select_one('nav[aria-label="Seiten"]')
        assert nav is not None, path
        names = [a.get("aria-label") or a.get_text(" ", strip=True) for a in nav.select("a")]
        assert all(names) and "Seite 2" in names, (path, names)
    nav = _soup(app.get("/dataset/?page=2")).select_one('nav[aria-label="Seiten"]')
    current = nav.select_one('a[aria-current="page"]')
    assert current.get_text(strip=True) == "2" and current["aria-label"] == "Seite 2"
    arrows = {a.get_text(strip=True) for a in nav.select("a")}
    assert {"Vorherige Seite", "Nächste Seite"} <= arrows, arrows
    # one page: no pager at all
    assert _soup(app.get("/dataset/?q=name:seite-1")).select_one('nav[aria-label="Seiten"]') is None
