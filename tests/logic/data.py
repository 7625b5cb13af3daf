"""Valid dataset dicts of the three Gelsenkirchen dataset types, and the
fixtures ``organization`` and ``sysadmin`` (on ``plugin_db`` of
tests/conftest.py), for tests (import the ``*_fixture`` functions into a
test module to use them).

``dataset_dict(type, owner_org=...)`` returns a dict that passes the schema;
tests change one field to provoke one error.  Other test suites (harvesters)
may use it too.
"""
from __future__ import annotations

import copy
import uuid
from typing import Any

import pytest

_COMMON: dict[str, Any] = {
    "title": "Parkhäuser in Gelsenkirchen",
    "notes": "Standorte und Kapazitäten der **Parkhäuser** im Stadtgebiet.",
    "tag_string": "Verkehr,Parken",
    "theme": ["TRAN", "REGI"],
    "license_id": "dl-by-de/2.0",
    "license_attribution_by_text": "Stadt Gelsenkirchen, Referat Verkehr",
    "contact_name": "Referat Verkehr",
    "contact_email": "verkehr@gelsenkirchen.de",
    "contact_url": "https://www.gelsenkirchen.de/kontakt",
    "maintainer": "Open-Data-Team",
    "maintainer_email": "opendata@gelsenkirchen.de",
    "spatial_coverage": ["bezirk-nord", "stadtteil-horst"],
    "temporal_start": "2020-01-01",
    "temporal_end": "2024-12-31",
    "frequency": "ANNUAL",
    "issued": "2021-03-01",
    "modified": "2024-06-30",
    "language": ["DEU"],
    "url": "https://www.gelsenkirchen.de/parken",
    "documentation": "https://www.gelsenkirchen.de/parken/dokumentation",
    "legal_basis": "§ 16 IFG NRW",
    "hvd_category": ["c_b79e35eb"],
    "resources": [{
        "name": "Parkhäuser (CSV)",
        "description": "Alle Parkhäuser mit Kapazität",
        "url": "https://opendata.example.org/parkhaeuser.csv",
        "format": "CSV",
        "availability": "STABLE",
        "size": 42702,
        "hash": "a58d35bebefa4972898110b9f5da62bc",
        "hash_algorithm": "md5",
    }, {
        "name": "Parkhäuser (GeoJSON)",
        "url": "https://opendata.example.org/parkhaeuser.geojson",
        "format": "geojson",
        "license_id": "dl-zero-de/2.0",
    }],
}

_TYPE_FIELDS: dict[str, dict[str, Any]] = {
    "dataset": {},
    "wifi-hotspots": {
        "title": "Öffentliche WLAN-Hotspots",
        "theme": ["TECH", "REGI"],
        "hotspot_count": 42,
        "access_point_count": 97,
        "operators": ["Stadtwerke Gelsenkirchen", "Gelsen-Net"],
        "ssids": ["GE-Free", "GE-Free 5G"],
        "stadtteile_covered": ["Buer", "stadtteil-altstadt"],
        "fibre_backhaul_share": 75.5,
        "status_counts": {"active": 40, "planned": 2},
    },
    "broadband-coverage": {
        "title": "Breitbandversorgung Gelsenkirchen",
        "theme": ["TECH", "ECON"],
        "reference_date": "2025-06-30",
        "source_attribution": "Gigabit-Grundbuch, Stand 06/2025",
        "speed_classes": ["ge1000", "ge50", "ge16"],
        "households_50mbit_share": 97.1,
        "households_1gbit_share": 81.4,
        "households_ftth_share": 38.2,
        "schools_connected": 50,
        "schools_total": 60,
        "hospitals_connected": 5,
        "hospitals_total": 6,
        "business_parks_connected": 9,
        "business_parks_total": 12,
    },
}

DATASET_TYPES = list(_TYPE_FIELDS)


def dataset_dict(dataset_type: str = "dataset", owner_org: str | None = None,
                 **overrides: Any) -> dict[str, Any]:
    data = copy.deepcopy(_COMMON)
    data.update(copy.deepcopy(_TYPE_FIELDS[dataset_type]))
    data["type"] = dataset_type
    data["name"] = f"gk-{dataset_type}-{uuid.uuid4().hex[:8]}"
    if owner_org:
        data["owner_org"] = owner_org
    for key, value in overrides.items():
        if value is None:
            data.pop(key, None)
        else:
            data[key] = value
    return data


@pytest.fixture(name="organization")
def organization_fixture(plugin_db):
    from ckan.tests import factories

    return factories.Organization(title="Referat Verkehr und Mobilität",
                                  name=f"referat-verkehr-{uuid.uuid4().hex[:6]}")


@pytest.fixture(name="sysadmin")
def sysadmin_fixture(plugin_db):
    from ckan.tests import factories

    return factories.Sysadmin()


def call_as(user: dict[str, Any] | str, action: str, **data: Any) -> Any:
    """helpers.call_action as a given user (the activity plugin needs one)."""
    from ckan.tests import helpers

    name = user if isinstance(user, str) else user["name"]
    return helpers.call_action(action, context={"user": name, "ignore_auth": False}, **data)
