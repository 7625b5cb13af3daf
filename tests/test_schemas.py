"""The three dataset schemas: schema API, create/update/show/search through
the API and the web form, facets, read-only fields."""
from __future__ import annotations

import html
import json
import re
from importlib import resources

import pytest
import yaml
from ckan.tests import factories

from ckanext.gelsenkirchen.helpers import forms as th
from ckanext.gelsenkirchen.logic import vocabularies as v
from tests.logic.data import (  # noqa: F401 (fixtures)
    DATASET_TYPES,
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)

SCHEMA_FILES = {"dataset": "dataset.yaml", "wifi-hotspots": "wifi_hotspots.yaml",
                "broadband-coverage": "broadband_coverage.yaml"}
FACETS = ["vocab_gk_theme", "vocab_gk_district", "vocab_gk_quarter", "license_id",
          "res_format", "organization", "dataset_type"]


def _load(name: str) -> dict:
    path = resources.files("ckanext.gelsenkirchen.schemas").joinpath(name)
    return yaml.safe_load(path.read_text(encoding="utf-8"))


# -- the schema files ------------------------------------------------------------------

def _bilingual(value) -> bool:
    return isinstance(value, dict) and value.get("de") and value.get("en")


@pytest.mark.parametrize("dataset_type", DATASET_TYPES)
def test_every_label_and_help_text_in_german_and_english(dataset_type):
    schema = _load(SCHEMA_FILES[dataset_type])
    assert schema["scheming_version"] == 2 and schema["dataset_type"] == dataset_type
    for field in schema["dataset_fields"] + schema["resource_fields"]:
        assert _bilingual(field["label"]), field["field_name"]
        assert _bilingual(field["help_text"]), field["field_name"]
        for key in ("form_placeholder",):
            if isinstance(field.get(key), dict):
                assert _bilingual(field[key]), field["field_name"]


def test_every_choice_in_german_and_english():
    helpers = [th.gelsenkirchen_theme_choices, th.gelsenkirchen_license_choices,
               th.gelsenkirchen_frequency_choices, th.gelsenkirchen_language_choices,
               th.gelsenkirchen_hvd_category_choices, th.gelsenkirchen_availability_choices,
               th.gelsenkirchen_hash_algorithm_choices, th.gelsenkirchen_area_choices,
               th.gelsenkirchen_speed_class_choices]
    for helper in helpers:
        choices = helper()
        assert choices
        for choice in choices:
            assert _bilingual(choice["label"]), (helper.__name__, choice)


def test_common_fields_are_identical_in_all_types():
    base = _load("dataset.yaml")
    for name in ("wifi_hotspots.yaml", "broadband_coverage.yaml"):
        other = _load(name)
        fields = {f["field_name"]: f for f in other["dataset_fields"]}
        for field in base["dataset_fields"]:
            assert fields[field["field_name"]] == field, (name, field["field_name"])
        assert other["resource_fields"] == base["resource_fields"]


# -- schema API ------------------------------------------------------------------------

@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("dataset_type", DATASET_TYPES)
def test_schema_show(dataset_type):
    from ckan.tests import helpers

    schema = helpers.call_action("scheming_dataset_schema_show", type=dataset_type)
    names = [f["field_name"] for f in schema["dataset_fields"]]
    for field in ("title", "notes", "tag_string", "theme", "license_id",
                  "license_attribution_by_text", "owner_org", "contact_name", "contact_email",
                  "contact_url", "maintainer", "spatial_coverage", "political_geocoding_uri",
                  "spatial", "temporal_start", "temporal_end", "frequency", "issued",
                  "modified", "language", "url", "documentation", "legal_basis",
                  "contributor_id", "hvd_category", "provenance_source_url"):
        assert field in names
    extra = {"wifi-hotspots": ["hotspot_count", "access_point_count", "operators", "ssids",
                               "stadtteile_covered", "fibre_backhaul_share", "status_counts"],
             "broadband-coverage": ["reference_date", "source_attribution", "speed_classes",
                                    "households_50mbit_share", "households_1gbit_share",
                                    "households_ftth_share", "schools_connected",
                                    "hospitals_total", "business_parks_connected"],
             "dataset": []}[dataset_type]
    assert set(extra) <= set(names)
    resource_names = [f["field_name"] for f in schema["resource_fields"]]
    assert resource_names == ["url", "name", "description", "format", "mimetype", "license_id",
                              "availability", "size", "hash", "hash_algorithm"]


# -- API: create, update, show, search ---------------------------------------------------

@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("dataset_type", DATASET_TYPES)
def test_api_create_update_show_search(dataset_type, organization, sysadmin):
    created = call_as(sysadmin, "package_create",
                      **dataset_dict(dataset_type, owner_org=organization["id"]))
    assert created["type"] == dataset_type
    assert created["theme"] == [v.THEMES[c].iri for c in
                                dataset_dict(dataset_type)["theme"]]
    assert created["license_id"] == "dl-by-de/2.0"
    assert created["license_url"] == "http://dcat-ap.de/def/licenses/dl-by-de/2.0"
    assert created["political_geocoding_uri"] == v.CITY_POLITICAL_GEOCODING_URI
    assert created["contributor_id"] == "http://dcat-ap.de/def/contributors/openNRW"
    assert json.loads(created["spatial"])["type"] in ("Polygon", "MultiPolygon")
    assert created["resources"][0]["mimetype"] == "text/csv"
    assert created["resources"][1]["format"] == "GEOJSON"
    assert "license_id" not in created["resources"][0]  # = the dataset's licence

    shown = call_as(sysadmin, "package_show", id=created["name"])
    assert shown["spatial_coverage"] == ["bezirk-nord", "stadtteil-horst"]

    updated = call_as(sysadmin, "package_update", **dict(
        shown, title="Geänderter Titel", spatial_coverage=["stadtteil-ueckendorf"],
        theme=["ENVI"]))
    assert updated["title"] == "Geänderter Titel"
    assert updated["spatial_coverage"] == ["stadtteil-ueckendorf"]
    assert updated["spatial"] != shown["spatial"]  # geometry follows the coverage
    assert call_as(sysadmin, "package_show", id=created["id"])["theme"] == [
        v.THEMES["ENVI"].iri]

    found = call_as(sysadmin, "package_search", q="Geänderter", fq=f"dataset_type:{dataset_type}")
    assert [r["name"] for r in found["results"]] == [created["name"]]
    by_facet = call_as(sysadmin, "package_search",
                       fq='vocab_gk_quarter:"stadtteil-ueckendorf" AND vocab_gk_theme:ENVI')
    assert [r["name"] for r in by_facet["results"]] == [created["name"]]
    # the spatial extra is indexed by ckanext-spatial (solr-bbox)
    inside = call_as(sysadmin, "package_search", extras={"ext_bbox": "7.10,51.47,7.16,51.50"})
    outside = call_as(sysadmin, "package_search", extras={"ext_bbox": "9.9,53.5,10.1,53.6"})
    assert created["name"] in [r["name"] for r in inside["results"]]
    assert outside["count"] == 0


@pytest.mark.usefixtures("with_plugins")
def test_facets_with_labels(organization, sysadmin):
    for dataset_type in DATASET_TYPES:
        call_as(sysadmin, "package_create",
                **dataset_dict(dataset_type, owner_org=organization["id"]))
    result = call_as(sysadmin, "package_search", q="*:*", **{"facet.field": json.dumps(FACETS)})
    facets = {f: {i["name"]: (i["count"], i["display_name"]) for i in result["search_facets"][f]
                  ["items"]} for f in FACETS}
    assert facets["vocab_gk_theme"]["TRAN"] == (1, "Verkehr")
    assert facets["vocab_gk_theme"]["REGI"][0] == 2
    assert facets["vocab_gk_district"]["bezirk-nord"] == (3, "Stadtbezirk Nord")
    assert facets["vocab_gk_district"]["bezirk-west"][0] == 3  # parent of Horst
    assert facets["vocab_gk_quarter"]["stadtteil-horst"] == (3, "Stadtteil Horst")
    assert facets["license_id"]["dl-by-de/2.0"] == (
        3, "Datenlizenz Deutschland Namensnennung 2.0")
    assert {n.upper() for n in facets["res_format"]} == {"CSV", "GEOJSON"}
    assert facets["dataset_type"]["wifi-hotspots"] == (1, "WLAN-Hotspots")
    assert list(facets["organization"]) == [organization["name"]]


@pytest.mark.usefixtures("with_plugins")
def test_search_page_shows_facets_in_german_and_english(app, organization, sysadmin):
    call_as(sysadmin, "package_create", **dataset_dict(owner_org=organization["id"]))
    page = app.get("/dataset/").body
    for title in ("Kategorien", "Stadtbezirke", "Stadtteile", "Lizenzen", "Formate",
                  "Datensatztypen", "Verkehr", "Stadtbezirk Nord"):
        assert title in page, title
    page = app.get("/en/dataset/").body
    for title in ("Themes", "Districts (Stadtbezirke)", "Licences", "Dataset types",
                  "Transport", "District North (Nord)"):
        assert title in page, title


# -- web form ------------------------------------------------------------------------

def _csrf(page: str) -> tuple[str, str]:
    match = re.search(r'<input type="hidden" name="([^"]*csrf[^"]*)" value="([^"]+)"', page)
    assert match, "no CSRF token in the page"
    return match.group(1), match.group(2)


def _form_data(dataset_type: str, org_id: str, name: str) -> dict:
    data = dataset_dict(dataset_type, owner_org=org_id)
    form = {
        "_ckan_phase": "dataset_new_1", "save": "continue", "pkg_name": "",
        "title": data["title"] + " (Formular)", "name": name, "notes": data["notes"],
        "tag_string": data["tag_string"],
        "theme": [v.THEMES[c].iri for c in data["theme"]],
        "license_id": "cc-by/4.0", "license_attribution_by_text": "Stadt Gelsenkirchen",
        "owner_org": org_id, "contact_name": "Referat Verkehr",
        "contact_email": "verkehr@gelsenkirchen.de", "contact_url": "",
        "maintainer": "", "maintainer_email": "",
        "spatial_coverage": ["bezirk-sued", "stadtteil-buer"],
        "temporal_start": "2023-01-01", "temporal_end": "2023-12-31",
        "frequency": v.FREQUENCIES["MONTHLY"].iri, "issued": "2024-01-15", "modified": "",
        "language": [v.LANGUAGES["DEU"].iri], "url": "https://www.gelsenkirchen.de/",
        "documentation": "", "legal_basis": "", "hvd_category": [],
    }
    if dataset_type == "broadband-coverage":
        form.update(reference_date="2025-06-30", source_attribution="Gigabit-Grundbuch")
    return form


def _editor(organization: dict, sysadmin: dict) -> dict:
    """An editor of the organization; returns the headers that log them in."""
    user = factories.User()
    call_as(sysadmin, "organization_member_create", id=organization["id"],
            username=user["name"], role="editor")
    return {"Authorization": factories.APIToken(user=user["name"])["token"]}


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("dataset_type", DATASET_TYPES)
def test_web_form_create(dataset_type, app, organization, sysadmin):
    auth = _editor(organization, sysadmin)
    page = app.get(f"/{dataset_type}/new", headers=auth)
    assert page.status_code == 200
    body = page.body
    for field in ("field-theme", "field-license_id", "field-spatial_coverage",
                  "field-contact_email", "field-temporal_end"):
        assert f'id="{field}"' in body, field
    assert 'name="spatial"' not in body  # derived, not in the form
    if dataset_type == "wifi-hotspots":
        assert 'id="field-hotspot_count"' in body and 'name="hotspot_count"' not in body

    name = f"formular-{dataset_type}"
    csrf_name, token = _csrf(body)
    response = app.post(f"/{dataset_type}/new", headers=auth, data={
        csrf_name: token, **_form_data(dataset_type, organization["id"], name)},
        follow_redirects=False)
    assert response.status_code == 302, response.body
    assert f"/{dataset_type}/{name}/resource/new" in response.headers["Location"]

    page = app.get(f"/{dataset_type}/{name}/resource/new", headers=auth)
    csrf_name, token = _csrf(page.body)
    response = app.post(f"/{dataset_type}/{name}/resource/new", headers=auth, data={
        csrf_name: token, "id": "", "save": "go-metadata",
        "url": "https://opendata.example.org/daten.csv", "name": "Daten (CSV)",
        "description": "", "format": "CSV", "mimetype": "", "license_id": "",
        "availability": "", "size": "", "hash": "", "hash_algorithm": ""},
        follow_redirects=False)
    assert response.status_code == 302, response.body

    shown = call_as(sysadmin, "package_show", id=name)
    assert shown["state"] == "active"
    assert shown["type"] == dataset_type
    assert shown["theme"] == [v.THEMES[c].iri for c in dataset_dict(dataset_type)["theme"]]
    assert shown["spatial_coverage"] == ["bezirk-sued", "stadtteil-buer"]
    assert shown["political_geocoding_uri"] == v.CITY_POLITICAL_GEOCODING_URI
    assert shown["resources"][0]["mimetype"] == "text/csv"

    page = html.unescape(app.get(f"/{dataset_type}/{name}").body)
    assert "(Formular)" in page
    assert "Stadtbezirk Süd" in page and "Stadtteil Buer (Stadtbezirk Nord)" in page
    assert "Geometrien angenähert" in page  # the demo boundaries say they are approximate


@pytest.mark.usefixtures("with_plugins")
def test_web_form_shows_field_error_and_saves_nothing(app, organization, sysadmin):
    auth = _editor(organization, sysadmin)
    csrf_name, token = _csrf(app.get("/dataset/new", headers=auth).body)
    form = _form_data("dataset", organization["id"], "formular-fehler")
    form["contact_email"] = "verkehr(at)gelsenkirchen"
    response = app.post("/dataset/new", headers=auth, data={csrf_name: token, **form},
                        follow_redirects=False)
    assert response.status_code == 200
    page = html.unescape(response.body)
    assert "Bitte geben Sie eine gültige E-Mail-Adresse ein" in page
    assert re.search(r'id="field-contact_email"', page)
    assert call_as(sysadmin, "package_search", q="name:formular-fehler",
                   include_drafts=True)["count"] == 0


@pytest.mark.usefixtures("with_plugins")
def test_web_form_edit_keeps_read_only_fields(app, organization, sysadmin):
    created = call_as(sysadmin, "package_create",
                      **dataset_dict("wifi-hotspots", owner_org=organization["id"]))
    auth = _editor(organization, sysadmin)
    page = app.get(f"/wifi-hotspots/edit/{created['name']}", headers=auth)
    body = html.unescape(page.body)
    assert "Stadtwerke Gelsenkirchen, Gelsen-Net" in body  # shown, read-only
    assert 'name="operators"' not in body
    csrf_name, token = _csrf(page.body)
    form = _form_data("wifi-hotspots", organization["id"], created["name"])
    for key in ("_ckan_phase", "pkg_name"):
        form.pop(key)
    form["save"] = ""
    form["title"] = "WLAN-Hotspots (bearbeitet)"
    response = app.post(f"/wifi-hotspots/edit/{created['name']}", headers=auth,
                        data={csrf_name: token, **form}, follow_redirects=False)
    assert response.status_code == 302, response.body
    shown = call_as(sysadmin, "package_show", id=created["id"])
    assert shown["title"] == "WLAN-Hotspots (bearbeitet)"
    assert shown["hotspot_count"] == 42
    assert shown["status_counts"] == {"active": 40, "planned": 2}
