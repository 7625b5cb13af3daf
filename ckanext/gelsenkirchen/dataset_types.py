"""The portal's dataset types, in one place: names, fields, published columns.

* **Names**: :data:`DATASET`, :data:`WIFI` (``wifi-hotspots``) and
  :data:`BROADBAND` (``broadband-coverage``).
* **Fields and their kinds** come from the scheming YAML in ``schemas/``,
  loaded as ckanext-scheming loads it (its loader, the presets expanded the
  way scheming expands them), as ckanext-dcat's scheming profile reads field
  types from the schema: :func:`schema`, :func:`type_fields` (the fields a
  type adds to the general dataset), :func:`provenance_fields` and
  :func:`field_kind` (from a field's validators).
* **The columns the harvesters publish** (DataStore table, CSV and GeoJSON
  files): :data:`WIFI_COLUMNS` and :data:`BROADBAND_COLUMNS` with their
  labels, the broadband attribute scheme (:data:`TECHNOLOGIES`,
  :data:`SPEEDS`, :data:`MEASURES`, :data:`COUNT_FIELDS`, :data:`LEVELS`)
  and the names the dataset pages read (:data:`AREA_NAME`,
  :data:`AREA_LEVEL`, :data:`REFERENCE_DATE`, :data:`CITY_LEVEL`).

The harvesters, the DCAT profile and the page helpers import these; adding a
field to a type is a change of its YAML only.
"""
from __future__ import annotations

import functools
from typing import Any

DATASET = "dataset"
WIFI = "wifi-hotspots"
BROADBAND = "broadband-coverage"
SCHEMA_FILES = {DATASET: "dataset.yaml", WIFI: "wifi_hotspots.yaml",
                BROADBAND: "broadband_coverage.yaml"}
SCHEMA_PACKAGE = "ckanext.gelsenkirchen.schemas"
PRESET_FILES = ("ckanext.scheming:presets.json", f"{SCHEMA_PACKAGE}:presets.yaml")
PROVENANCE_PREFIX = "provenance_"


# ---------------------------------------------------------------- fields from the YAML

@functools.cache
def _presets() -> dict[str, dict[str, Any]]:
    from ckanext.scheming.plugins import _load_schema

    return {preset["preset_name"]: preset["values"]
            for ref in PRESET_FILES for preset in _load_schema(ref)["presets"]}


@functools.cache
def schema(dataset_type: str) -> dict[str, Any]:
    """The scheming schema of ``dataset_type`` with its presets expanded
    (a field's own keys win over its preset's, as in scheming)."""
    from ckanext.scheming.plugins import _load_schema

    loaded = dict(_load_schema(f"{SCHEMA_PACKAGE}:{SCHEMA_FILES[dataset_type]}"))
    presets = _presets()
    for grouping in ("dataset_fields", "resource_fields"):
        loaded[grouping] = [dict(presets.get(f.get("preset"), {}), **f)
                            for f in loaded.get(grouping, [])]
    return loaded


def field_names(dataset_type: str) -> list[str]:
    return [f["field_name"] for f in schema(dataset_type)["dataset_fields"]]


def type_fields(dataset_type: str) -> list[dict[str, Any]]:
    """The fields ``dataset_type`` has beyond the general dataset (the
    figures its harvester derives); none for an unknown type."""
    if dataset_type not in SCHEMA_FILES or dataset_type == DATASET:
        return []
    common = set(field_names(DATASET))
    return [f for f in schema(dataset_type)["dataset_fields"] if f["field_name"] not in common]


def provenance_fields() -> list[dict[str, Any]]:
    """The harvest provenance fields every type has."""
    return [f for f in schema(DATASET)["dataset_fields"]
            if f["field_name"].startswith(PROVENANCE_PREFIX)]


#: Presets of the fields that say which dataset it is and who owns it: the
#: URL name (identity) and the organization with the visibility
#: (ownership, visibility: scheming's organization snippet holds both).
IDENTITY_PRESETS = frozenset({"dataset_slug", "dataset_organization"})
#: Form snippets of fields an editor cannot set: shown read-only (derived or
#: maintained by a harvester) or not in the form at all (null).
READONLY_SNIPPETS = frozenset({"gelsenkirchen_readonly.html", None})
HARVESTER_VALIDATOR = "gelsenkirchen_harvester_field"


def editable_fields(dataset_type: str) -> list[str]:
    """The fields of ``dataset_type`` an editor maintains in the dataset
    form and that say nothing about which dataset it is, who owns it, who
    sees it or what it is made of: not the identity, organization and
    visibility (:data:`IDENTITY_PRESETS`), not read-only, derived or
    harvester-maintained fields, not the figures the type adds to the
    general dataset (its harvester derives them). CKAN's own keys (``id``,
    ``type``, ``private``, ``state``, ``groups``, ``resources``,
    ``extras``, ...) are no fields of the schema, so never editable here.
    The harvesters allow exactly these in a source's ``dataset_defaults``.
    """
    derived = {f["field_name"] for f in type_fields(dataset_type)}
    return [f["field_name"] for f in schema(dataset_type)["dataset_fields"]
            if f.get("preset") not in IDENTITY_PRESETS
            and f.get("form_snippet", "") not in READONLY_SNIPPETS
            and HARVESTER_VALIDATOR not in str(f.get("validators") or "").split()
            and f["field_name"] not in derived]


#: validator -> kind of value (how RDF and the harvesters write it)
_KINDS = {
    "gelsenkirchen_count": "int", "gelsenkirchen_percentage": "decimal",
    "gelsenkirchen_text_list": "list", "gelsenkirchen_stadtteile": "list",
    "gelsenkirchen_speed_classes": "list", "gelsenkirchen_status_counts": "json",
    "gelsenkirchen_date": "date", "gelsenkirchen_datetime": "datetime",
}


def field_kind(field: dict[str, Any]) -> str:
    """``int``, ``decimal``, ``list``, ``json``, ``date``, ``datetime`` or
    ``text``, from the field's validators."""
    for validator in str(field.get("validators") or "").split():
        if validator in _KINDS:
            return _KINDS[validator]
    return "text"


# ---------------------------------------------------------------- WiFi hotspots: columns

#: The DataStore columns of a wifi-hotspots dataset (order = CSV/GeoJSON export order).
WIFI_COLUMNS: list[dict[str, Any]] = [
    {"id": "id", "type": "text", "info": {"label": "ID", "notes": "Kennung des Hotspots in der Quelle"}},
    {"id": "name", "type": "text", "info": {"label": "Name"}},
    {"id": "address", "type": "text", "info": {"label": "Adresse"}},
    {"id": "postcode", "type": "text", "info": {"label": "PLZ"}},
    {"id": "stadtteil", "type": "text", "info": {"label": "Stadtteil"}},
    {"id": "stadtbezirk", "type": "text", "info": {"label": "Stadtbezirk"}},
    {"id": "latitude", "type": "float8", "info": {"label": "Breitengrad (WGS 84)"}},
    {"id": "longitude", "type": "float8", "info": {"label": "Längengrad (WGS 84)"}},
    {"id": "operator", "type": "text", "info": {"label": "Betreiber"}},
    {"id": "ssid", "type": "text", "info": {"label": "SSID"}},
    {"id": "access_points", "type": "int", "info": {"label": "Access Points"}},
    {"id": "backhaul", "type": "text", "info": {"label": "Anbindung",
                                                "notes": "fibre, dsl, cable, radio, mobile, mesh"}},
    {"id": "status", "type": "text", "info": {"label": "Status",
                                              "notes": "online, offline, planned, unknown"}},
    {"id": "indoor_outdoor", "type": "text", "info": {"label": "Innen/Außen"}},
    {"id": "opening_hours", "type": "text", "info": {"label": "Öffnungszeiten"}},
    {"id": "last_seen", "type": "timestamp", "info": {"label": "Zuletzt gesehen"}},
    {"id": "source_id", "type": "text", "info": {"label": "Quelle",
                                                 "notes": "Name der Harvest-Quelle"}},
]


# ---------------------------------------------------------------- broadband coverage: columns

#: The attribute scheme of the federal broadband atlas (Breitbandatlas /
#: Gigabit-Grundbuch): down_fn_hh_<technology>_<Mbit/s>, percentage of
#: households with at least that downstream speed over fixed networks.
TECHNOLOGIES: tuple[str, ...] = ("alle", "ftthb", "ftth", "fttb", "fttc", "hfc", "sonst")
SPEEDS: tuple[int, ...] = (10, 16, 30, 50, 100, 200, 400, 1000)
MEASURE_PREFIX = "down_fn_hh_"
MEASURES: tuple[str, ...] = tuple(
    f"{MEASURE_PREFIX}{tech}_{speed}" for tech in TECHNOLOGIES for speed in SPEEDS)
COUNT_FIELDS: tuple[str, ...] = (
    "schools_fibre", "schools_no_fibre",
    "hospitals_fibre", "hospitals_no_fibre",
    "business_parks_fibre", "business_parks_no_fibre",
)
#: Area levels of the rows, coarsest first.
LEVELS: tuple[str, ...] = ("stadt", "stadtbezirk", "stadtteil", "grid")
CITY_LEVEL = "stadt"
STADTTEIL_LEVEL = "stadtteil"
#: The columns the dataset pages read.
AREA_ID = "area_id"
AREA_NAME = "area_name"
AREA_LEVEL = "area_level"
REFERENCE_DATE = "reference_date"

_SPEED_LABEL = {10: "10 Mbit/s", 16: "16 Mbit/s", 30: "30 Mbit/s", 50: "50 Mbit/s",
                100: "100 Mbit/s", 200: "200 Mbit/s", 400: "400 Mbit/s", 1000: "1 Gbit/s"}
_TECH_LABEL = {"alle": "alle Technologien", "ftthb": "FTTH/B", "ftth": "FTTH", "fttb": "FTTB",
               "fttc": "FTTC/VDSL", "hfc": "HFC (Kabel)", "sonst": "sonstige"}
_COUNT_LABEL = {
    "schools_fibre": "Schulen mit Glasfaser", "schools_no_fibre": "Schulen ohne Glasfaser",
    "hospitals_fibre": "Krankenhäuser mit Glasfaser",
    "hospitals_no_fibre": "Krankenhäuser ohne Glasfaser",
    "business_parks_fibre": "Gewerbegebiete mit Glasfaser",
    "business_parks_no_fibre": "Gewerbegebiete ohne Glasfaser",
}


def measure(technology: str, speed: int) -> str:
    return f"{MEASURE_PREFIX}{technology}_{speed}"


def _measure_info(name: str) -> dict[str, str]:
    tech, speed = name[len(MEASURE_PREFIX):].rsplit("_", 1)
    return {"label": f"Haushalte ≥ {_SPEED_LABEL[int(speed)]}, {_TECH_LABEL[tech]} (%)",
            "notes": f"Anteil der Haushalte mit mindestens {_SPEED_LABEL[int(speed)]} im "
                     f"Download über Festnetz ({_TECH_LABEL[tech]}), Breitbandatlas-Attribut "
                     f"{name}"}


#: The DataStore columns of a broadband-coverage dataset (one row per area
#: and reference date; the key ``id`` is ``<area_id>@<reference_date>``).
BROADBAND_COLUMNS: list[dict[str, Any]] = [
    {"id": "id", "type": "text", "info": {"label": "ID", "notes": "Gebiet und Datenstand"}},
    {"id": AREA_ID, "type": "text", "info": {"label": "Gebietskennung"}},
    {"id": AREA_NAME, "type": "text", "info": {"label": "Gebiet"}},
    {"id": AREA_LEVEL, "type": "text", "info": {
        "label": "Ebene", "notes": "stadt, stadtbezirk, stadtteil oder grid"}},
    {"id": REFERENCE_DATE, "type": "date", "info": {"label": "Datenstand"}},
    {"id": "households", "type": "int", "info": {"label": "Haushalte"}},
    *({"id": name, "type": "numeric", "info": _measure_info(name)} for name in MEASURES),
    *({"id": name, "type": "int", "info": {"label": _COUNT_LABEL[name]}}
      for name in COUNT_FIELDS),
    {"id": "aggregated_from", "type": "int", "info": {
        "label": "Aggregiert aus", "notes": "Zahl der Rasterzellen bzw. Gebiete, aus denen die "
                                            "Zeile berechnet wurde (leer: Wert der Quelle)"}},
]
#: Properties of the map file (GeoJSON): the figures a map shows; the CSV
#: file and the DataStore table have every technology.
BROADBAND_MAP_COLUMNS = frozenset(
    [AREA_ID, AREA_NAME, AREA_LEVEL, REFERENCE_DATE, "households", "aggregated_from",
     *(measure(tech, speed) for tech in ("alle", "ftthb") for speed in SPEEDS),
     *COUNT_FIELDS])
