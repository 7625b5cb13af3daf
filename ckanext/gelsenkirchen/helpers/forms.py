"""Helpers of the dataset forms and dataset pages' field values.

The ``gelsenkirchen_*_choices`` helpers feed the ``choices_helper`` of the
scheming fields, so the form choices come from the same code lists as the
validators (``logic/vocabularies.py``, ``geography.py``).
"""
from __future__ import annotations

from typing import Any

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.logic import search
from ckanext.gelsenkirchen.logic import vocabularies as v
from ckanext.gelsenkirchen.logic.messages import current_lang
from ckanext.gelsenkirchen.logic.validators import gelsenkirchen_json_output

__all__ = [
    "gelsenkirchen_theme_choices",
    "gelsenkirchen_license_choices",
    "gelsenkirchen_frequency_choices",
    "gelsenkirchen_language_choices",
    "gelsenkirchen_hvd_category_choices",
    "gelsenkirchen_availability_choices",
    "gelsenkirchen_format_choices",
    "gelsenkirchen_hash_algorithm_choices",
    "gelsenkirchen_area_choices",
    "gelsenkirchen_stadtteil_choices",
    "gelsenkirchen_speed_class_choices",
    "gelsenkirchen_boundaries_approximate",
    "gelsenkirchen_facet_label",
    "gelsenkirchen_license_label",
    "gelsenkirchen_json_value",
]


def _bilingual(de: str, en: str) -> dict[str, str]:
    return {"de": de, "en": en}


def _term_choices(terms: dict[str, Any], value: str = "iri") -> list[dict[str, Any]]:
    return [{"value": getattr(t, value), "label": _bilingual(t.de, t.en)}
            for t in terms.values()]


def gelsenkirchen_theme_choices(field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return _term_choices(v.THEMES)


def gelsenkirchen_license_choices(field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"value": lic.code, "label": _bilingual(lic.de, lic.en)}
            for lic in v.LICENSES.values()]


def gelsenkirchen_frequency_choices(field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return _term_choices(v.FREQUENCIES)


def gelsenkirchen_language_choices(field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return _term_choices(v.LANGUAGES)


def gelsenkirchen_hvd_category_choices(
        field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return _term_choices(v.HVD_CATEGORIES)


def gelsenkirchen_availability_choices(
        field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return _term_choices(v.AVAILABILITIES)


def gelsenkirchen_format_choices(field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [{"value": ft.code, "label": ft.label} for ft in v.FILE_TYPES.values()]


def gelsenkirchen_hash_algorithm_choices(
        field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return _term_choices(v.HASH_ALGORITHMS)


def gelsenkirchen_area_choices(field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    out = []
    for area in geography.AREAS.values():
        de, en = area.de, area.en
        if area.parent:
            parent = geography.AREAS[area.parent]
            de, en = f"{de} ({parent.de})", f"{en} ({parent.en})"
        out.append({"value": area.code, "label": _bilingual(de, en)})
    return out


def gelsenkirchen_stadtteil_choices(field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return [c for c in gelsenkirchen_area_choices(field) if c["value"].startswith("stadtteil-")]


def gelsenkirchen_speed_class_choices(
        field: dict[str, Any] | None = None) -> list[dict[str, Any]]:
    return _term_choices(v.SPEED_CLASSES, value="code")


def gelsenkirchen_boundaries_approximate() -> bool:
    """True when the configured boundaries are the approximate demo set."""
    return geography.boundaries().approximate


def gelsenkirchen_license_label(value: str | None, lang: str | None = None) -> str:
    lic = v.license_from_value(value)
    if lic is None:
        return value or ""
    return lic.label(lang or current_lang())


def gelsenkirchen_json_value(value: Any) -> Any:
    """Stored JSON (a list or an object) as a Python value; else unchanged."""
    return gelsenkirchen_json_output(value)


def gelsenkirchen_facet_label(facet: str, value: str, lang: str | None = None) -> str | None:
    """The label of a facet value in the current language (None: unchanged)."""
    return search.facet_label(facet, value, lang or current_lang())
