"""Search index fields and facets of the Gelsenkirchen schemas.

CKAN indexes non-core fields as ``extras_*`` (type ``text``: tokenised, no
exact facets) and as top-level keys that fall through to the ``*`` dynamic
field (single-valued string).  The facets therefore use CKAN's own
``vocab_*`` dynamic field (``string``, multiValued, in ckan/config/solr/
schema.xml), which facets exactly on Solr and on pgsolr:

* ``vocab_gk_theme``    - EU data-theme codes (``TRAN``, ``ENVI``, ...)
* ``vocab_gk_district`` - ``gesamtstadt`` and Stadtbezirk codes
  (``bezirk-nord``); a selected Stadtteil adds its Stadtbezirk
* ``vocab_gk_quarter``  - Stadtteil codes (``stadtteil-buer``)

Licence, format, organization and dataset type use CKAN's fields
``license_id``, ``res_format``, ``organization`` and ``dataset_type``.
No extra Solr field is needed.

Dates: CKAN 2.12.0 indexes a ``*_date`` value that carries a time zone as
``2019-10-10T01:15:00+00:00``; Solr refuses the whole dataset for it (HTTP
400 "Invalid Date String"), and pgsolr does the same. :func:`utc_dates`
writes such values in UTC with Solr's ``Z`` before they are sent.
"""
from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from ckanext.gelsenkirchen import dataset_types, geography
from ckanext.gelsenkirchen.logic import vocabularies as v
from ckanext.gelsenkirchen.logic.messages import N_, current_lang, render

THEME_FIELD = "vocab_gk_theme"
DISTRICT_FIELD = "vocab_gk_district"
QUARTER_FIELD = "vocab_gk_quarter"
FACET_FIELDS = [THEME_FIELD, DISTRICT_FIELD, QUARTER_FIELD, "license_id", "res_format",
                "organization", "dataset_type"]


# msgids of the catalogue (i18n/), translated when a page is rendered
FACET_TITLES: dict[str, str] = {
    "vocab_gk_theme": N_("Themes"),
    "vocab_gk_district": N_("Districts (Stadtbezirke)"),
    "vocab_gk_quarter": N_("Quarters (Stadtteile)"),
    "license_id": N_("Licences"),
    "res_format": N_("Formats"),
    "organization": N_("Organisations"),
    "dataset_type": N_("Dataset types"),
}

DATASET_TYPE_LABELS: dict[str, str] = {
    dataset_types.DATASET: N_("Dataset"),
    dataset_types.WIFI: N_("WiFi hotspots"),
    dataset_types.BROADBAND: N_("Broadband coverage"),
}


def facet_label(facet: str, value: str, lang: str) -> str | None:
    """The label of a facet value in language ``lang`` (None: unchanged)."""
    en = lang.startswith("en")
    if facet == "vocab_gk_theme":
        term = v.term_from_value(v.THEMES, value)
        return term.label("en" if en else "de") if term else None
    if facet in ("vocab_gk_district", "vocab_gk_quarter"):
        area = geography.AREAS.get(value)
        return area.label("en" if en else "de") if area else None
    if facet == "license_id":
        lic = v.license_from_value(value)
        return lic.label("en" if en else "de") if lic else None
    if facet == "res_format":
        ft = v.file_type_from_value(value)
        return ft.label if ft else None
    if facet == "dataset_type" and value in DATASET_TYPE_LABELS:
        return render(DATASET_TYPE_LABELS[value], "en" if en else lang)
    return None


def _list(value: Any) -> list[str]:
    if not value:
        return []
    if isinstance(value, list):
        return [str(x) for x in value]
    try:
        loaded = json.loads(value)
    except (TypeError, ValueError):
        return [str(value)]
    return [str(x) for x in loaded] if isinstance(loaded, list) else [str(loaded)]


def utc_dates(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    """``*_date`` values with a UTC offset (as CKAN 2.12.0 writes them) in
    UTC with ``Z``, the one form Solr accepts; everything else unchanged."""
    for key, value in pkg_dict.items():
        if not key.endswith("_date") or not isinstance(value, str) or value.endswith("Z"):
            continue
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            continue
        if parsed.tzinfo is not None:
            pkg_dict[key] = parsed.astimezone(UTC).replace(tzinfo=None).isoformat() + "Z"
    return pkg_dict


def before_dataset_index(pkg_dict: dict[str, Any]) -> dict[str, Any]:
    utc_dates(pkg_dict)
    try:
        validated = json.loads(pkg_dict.get("validated_data_dict") or "{}")
    except ValueError:
        validated = {}
    themes = []
    for value in _list(validated.get("theme")):
        term = v.term_from_value(v.THEMES, value)
        if term:
            themes.append(term.code)
    codes = geography.facet_codes([c for c in _list(validated.get("spatial_coverage"))
                               if c in geography.AREAS])
    if themes:
        pkg_dict[THEME_FIELD] = themes
    districts = [c for c in codes if geography.AREAS[c].level in ("stadt", "stadtbezirk")]
    quarters = [c for c in codes if geography.AREAS[c].level == "stadtteil"]
    if districts:
        pkg_dict[DISTRICT_FIELD] = districts
    if quarters:
        pkg_dict[QUARTER_FIELD] = quarters
    return pkg_dict


def dataset_facets(facets_dict: dict[str, Any], package_type: str) -> dict[str, Any]:
    lang = current_lang()
    out: dict[str, Any] = {}
    for field in FACET_FIELDS:
        out[field] = render(FACET_TITLES[field], "en" if lang.startswith("en") else lang)
    for key, title in facets_dict.items():
        if key not in out and key not in ("license_id", "res_format", "organization"):
            out[key] = title
    return out


def after_dataset_search(search_results: dict[str, Any],
                         search_params: dict[str, Any]) -> dict[str, Any]:
    lang = current_lang()
    for field, facet in (search_results.get("search_facets") or {}).items():
        for item in facet.get("items", []):
            label = facet_label(field, item.get("name"), lang)
            if label:
                item["display_name"] = label
    return search_results
