"""Dates and numbers as the visitor's language writes them."""
from __future__ import annotations

import datetime
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.gelsenkirchen.harvesters.source.numbers import parse_number

__all__ = ["gelsenkirchen_format_date", "gelsenkirchen_format_number"]


def number(value: Any) -> float | None:
    """A stored value as a number (the harvesters' rule), None when it is none."""
    try:
        return parse_number(value)
    except ValueError:
        return None


def gelsenkirchen_format_date(value: Any) -> str:
    """A reference date as the current language writes it (date only)."""
    if not value:
        return ""
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return parsed.strftime("%d.%m.%Y" if tk.h.lang() == "de" else "%Y-%m-%d")


def gelsenkirchen_format_number(value: Any, decimals: int = 0) -> str:
    """A number in the current language's notation (German: 1.234,5)."""
    parsed = number(value)
    if parsed is None:
        return ""
    from babel.numbers import format_decimal
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    locale = "de_DE" if tk.h.lang() == "de" else "en_GB"
    return format_decimal(round(parsed, decimals), format=pattern, locale=locale)
