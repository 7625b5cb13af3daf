"""Numbers in source data under one explicit decimal rule per source.

The source configuration key ``"decimal"`` names the rule:

``comma``
    decimal comma, point between thousands: ``1.234,5`` is 1234.5 and
    ``1.234`` is 1234 (German notation);
``point``
    decimal point, comma between thousands: ``1,234.5`` is 1234.5 and
    ``1.234`` is 1.234.

Without the key the rule is detected from the source's text values
(:func:`choose_decimal`); the job report says which rule was used and why.
Under both rules spaces and apostrophes may group thousands, a trailing
``%`` is ignored, and ``-``, ``–``, ``k.A.``, ``n/a``, ``NA`` and ``null``
are empty values. Values that are numbers already (JSON, spreadsheet cells,
GeoPackage columns) are taken as they are; NaN is an empty value.
"""
from __future__ import annotations

import decimal as _decimal
import math
import re
from collections.abc import Iterable
from typing import Any

from .text import shown

DECIMAL_RULES: tuple[str, ...] = ("comma", "point")
#: The rule when nothing in the data decides it (JSON and most APIs).
DEFAULT_DECIMAL = "point"
EMPTY_VALUES = frozenset({"", "-", "–", "k.A.", "n/a", "NA", "null"})
#: rule -> (decimal mark, thousands separator)
_MARKS = {"comma": (",", "."), "point": (".", ",")}
_GROUPING = re.compile(r"[\s\u00a0\u202f']")


def _number_pattern(mark: str, thousands: str) -> re.Pattern[str]:
    d, t = re.escape(mark), re.escape(thousands)
    return re.compile(rf"[+-]?(?:\d+|\d{{1,3}}(?:{t}\d{{3}})+)?(?:{d}\d+)?(?:[eE][+-]?\d+)?")


_NUMBER = {rule: _number_pattern(*marks) for rule, marks in _MARKS.items()}


def _clean(text: str) -> str:
    return _GROUPING.sub("", text.strip()).removesuffix("%")


def parse_number(value: Any, decimal: str = DEFAULT_DECIMAL) -> float | None:
    """``value`` as a float under the decimal rule ``decimal``; None for an
    empty value; ValueError for anything that is not a number."""
    if type(value) is float:  # the common case (GeoPackage, JSON): fast path
        if math.isinf(value):
            raise ValueError(shown(value))
        return None if value != value else value
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(shown(value))
    if isinstance(value, int | float | _decimal.Decimal):
        try:
            number = float(value)  # OverflowError: an int beyond a float's range
        except (OverflowError, ValueError):  # ValueError: Decimal("sNaN")
            raise ValueError(shown(value)) from None
        if math.isinf(number):
            raise ValueError(shown(value))
        return None if math.isnan(number) else number
    raw = str(value).strip()
    if raw in EMPTY_VALUES:
        return None
    text = _clean(raw)
    if not any(c.isdigit() for c in text) or not _NUMBER[decimal].fullmatch(text):
        raise ValueError(shown(raw))
    mark, thousands = _MARKS[decimal]
    number = float(text.replace(thousands, "").replace(mark, "."))
    if math.isinf(number):  # "1e999": beyond a float's range
        raise ValueError(shown(raw))
    return number


def parse_int(value: Any, decimal: str = DEFAULT_DECIMAL) -> int | None:
    """A non-negative whole number (a count); ValueError otherwise."""
    number = parse_number(value, decimal)
    if number is None:
        return None
    if number != int(number) or number < 0:
        raise ValueError(shown(value))
    return int(number)


def _evidence(text: str) -> str | None:
    """The rule a text value can only be read under, if any (``93,5``:
    comma; ``7.0913``: point; ``1.234`` or ``42``: either, so none)."""
    fits = [rule for rule in DECIMAL_RULES if _NUMBER[rule].fullmatch(text)]
    return fits[0] if len(fits) == 1 and any(c.isdigit() for c in text) else None


def detect_decimal(values: Iterable[Any]) -> tuple[str | None, int]:
    """The rule most text values can only be read under, and how many
    values said so; (None, 0) when no value decides it (numbers that are
    numbers, integers, or only values like ``1.234`` that fit both)."""
    votes = dict.fromkeys(DECIMAL_RULES, 0)
    for value in values:
        if isinstance(value, str):
            rule = _evidence(_clean(value))
            if rule:
                votes[rule] += 1
    comma, point = votes["comma"], votes["point"]
    if comma == point:
        return None, 0
    return ("comma", comma) if comma > point else ("point", point)


def choose_decimal(configured: str | None, values: Iterable[Any]) -> tuple[str, str]:
    """The decimal rule of a source and how it was chosen, for the report:
    the configured one, else the detected one, else :data:`DEFAULT_DECIMAL`."""
    if configured:
        return configured, f"{configured} (configured)"
    rule, evidence = detect_decimal(values)
    if rule is None:
        return DEFAULT_DECIMAL, (f"{DEFAULT_DECIMAL} (default: no value decided it; "
                                 'set "decimal" to "comma" or "point")')
    return rule, f"{rule} (detected from {evidence} value{'' if evidence == 1 else 's'})"
