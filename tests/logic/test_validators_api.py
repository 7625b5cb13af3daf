"""Every validation case through the API: a field-level error, nothing saved."""
from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckan.tests import factories

from tests.logic.data import (  # noqa: F401 (fixtures)
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)

HAMBURG = '{"type": "Point", "coordinates": [9.99, 53.55]}'

CASES = [
    # (id, dataset type, overrides, error field)
    ("invalid e-mail", "dataset", {"contact_email": "verkehr-at-gelsenkirchen"}, "contact_email"),
    ("invalid maintainer e-mail", "dataset", {"maintainer_email": "x@"}, "maintainer_email"),
    ("invalid URL", "dataset", {"url": "www.gelsenkirchen.de/parken"}, "url"),
    ("invalid contact URL", "dataset", {"contact_url": "kontakt bitte"}, "contact_url"),
    ("unknown licence", "dataset", {"license_id": "cc-by-nc-nd/4.0"}, "license_id"),
    ("missing licence", "dataset", {"license_id": None}, "license_id"),
    ("unknown theme", "dataset", {"theme": ["TRAN", "PARKING"]}, "theme"),
    ("no theme", "wifi-hotspots", {"theme": []}, "theme"),
    ("unknown district", "dataset", {"spatial_coverage": ["bezirk-atlantis"]},
     "spatial_coverage"),
    ("end before start", "broadband-coverage",
     {"temporal_start": "2024-01-01", "temporal_end": "2023-12-31"}, "temporal_end"),
    ("malformed spatial", "dataset", {"spatial": "{not geojson"}, "spatial"),
    ("spatial outside the city", "dataset", {"spatial": HAMBURG, "spatial_coverage": None},
     "spatial"),
    ("contact without e-mail or URL", "dataset", {"contact_email": None, "contact_url": None},
     "contact_email"),
    ("by-licence without attribution", "dataset",
     {"license_id": "cc-by/4.0", "license_attribution_by_text": None},
     "license_attribution_by_text"),
    ("unknown frequency", "dataset", {"frequency": "SOMETIMES"}, "frequency"),
    ("invalid date", "dataset", {"issued": "01.03.2021"}, "issued"),
    ("connected above total", "broadband-coverage", {"schools_connected": 61},
     "schools_connected"),
    ("percentage above 100", "wifi-hotspots", {"fibre_backhaul_share": 120},
     "fibre_backhaul_share"),
    ("unknown Stadtteil", "wifi-hotspots", {"stadtteile_covered": ["Altona"]},
     "stadtteile_covered"),
]


def _assert_not_saved(name: str) -> None:
    with pytest.raises(tk.ObjectNotFound):
        call_as(factories.Sysadmin(), "package_show", id=name)


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("case_id,dataset_type,overrides,field", CASES,
                         ids=[c[0] for c in CASES])
def test_create_rejects(case_id, dataset_type, overrides, field, organization, sysadmin):
    data = dataset_dict(dataset_type, owner_org=organization["id"], **overrides)
    with pytest.raises(tk.ValidationError) as e:
        call_as(sysadmin, "package_create", **data)
    assert field in e.value.error_dict, e.value.error_dict
    assert e.value.error_dict[field][0]
    _assert_not_saved(data["name"])


@pytest.mark.usefixtures("with_plugins")
def test_messages_are_german_by_default(organization, sysadmin):
    data = dataset_dict(owner_org=organization["id"], contact_email="kaputt")
    with pytest.raises(tk.ValidationError) as e:
        call_as(sysadmin, "package_create", **data)
    assert e.value.error_dict["contact_email"] == [
        "Bitte geben Sie eine gültige E-Mail-Adresse ein, z. B. name@gelsenkirchen.de."]


@pytest.mark.usefixtures("with_plugins")
@pytest.mark.parametrize("field,value", [("format", "DOCX-ish"), ("license_id", "beer-ware"),
                                          ("mimetype", "csv please"), ("hash", "xyz!"),
                                          ("availability", "FOREVER")])
def test_resource_fields_rejected(field, value, organization, sysadmin):
    data = dataset_dict(owner_org=organization["id"])
    data["resources"][0][field] = value
    with pytest.raises(tk.ValidationError) as e:
        call_as(sysadmin, "package_create", **data)
    assert field in e.value.error_dict["resources"][0], e.value.error_dict
    _assert_not_saved(data["name"])


@pytest.mark.usefixtures("with_plugins")
def test_update_rejects_and_keeps_stored_values(organization, sysadmin):
    created = call_as(sysadmin, "package_create", **dataset_dict(owner_org=organization["id"]))
    changed = dict(created, contact_email="nope", title="Neuer Titel")
    with pytest.raises(tk.ValidationError) as e:
        call_as(sysadmin, "package_update", **changed)
    assert "contact_email" in e.value.error_dict
    shown = call_as(sysadmin, "package_show", id=created["id"])
    assert shown["contact_email"] == created["contact_email"]
    assert shown["title"] == created["title"]


@pytest.mark.usefixtures("with_plugins")
def test_harvester_fields_need_a_sysadmin(organization, sysadmin):
    """Read-only fields: an editor may not set or change them through the
    API; a sysadmin (harvesters run as the site user) may; an editor's
    update that leaves them out or unchanged keeps them."""
    editor = factories.User()
    call_as(sysadmin, "organization_member_create", id=organization["id"],
            username=editor["name"], role="editor")

    data = dataset_dict("wifi-hotspots", owner_org=organization["id"])
    with pytest.raises(tk.ValidationError) as e:
        call_as(editor, "package_create", **data)
    assert set(e.value.error_dict) >= {"hotspot_count", "operators", "status_counts"}
    _assert_not_saved(data["name"])

    created = call_as(sysadmin, "package_create", **data)
    assert created["hotspot_count"] == 42

    # unchanged round trip and omission by an editor keep the values
    call_as(editor, "package_update", **dict(created, title="Hotspots (neu)"))
    without = {k: val for k, val in created.items()
               if k not in ("hotspot_count", "operators", "provenance_harvested_at")}
    updated = call_as(editor, "package_update", **dict(without, notes="geändert"))
    assert updated["hotspot_count"] == 42
    assert updated["operators"] == ["Stadtwerke Gelsenkirchen", "Gelsen-Net"]

    with pytest.raises(tk.ValidationError) as e:
        call_as(editor, "package_update", **dict(updated, hotspot_count=1))
    assert list(e.value.error_dict) == ["hotspot_count"]

    harvested = call_as(sysadmin, "package_update", **dict(
        updated, hotspot_count=43, provenance_source_url="https://daten.example.org/wlan.csv",
        provenance_harvest_source="WLAN-Hotspots (Stadtwerke)",
        provenance_harvested_at="2025-07-01T03:00:00",
        provenance_content_hash="9f86d081884c7d659a2feaa0c55ad015"))
    assert harvested["hotspot_count"] == 43
    assert harvested["provenance_harvested_at"] == "2025-07-01T03:00:00"
