"""Theme pages through CKAN's test client: legal pages, home page, CSRF, languages."""
from __future__ import annotations

import pytest
from bs4 import BeautifulSoup

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
    assert forms, "each of these pages has at least the language form"
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
