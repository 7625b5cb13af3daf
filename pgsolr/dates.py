"""Solr date parsing, formatting and date math (NOW-7DAYS/DAY etc.)."""
from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta

from .errors import bad_request

_ISO_RE = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?)?"
    r"(Z|[+-]\d{2}:?\d{2})?$")
_MATH_RE = re.compile(r"([+-])(\d+)([A-Z]+)|/([A-Z]+)")
_UNITS = {
    "YEAR": "year", "YEARS": "year", "MONTH": "month", "MONTHS": "month",
    "DAY": "day", "DAYS": "day", "DATE": "day", "HOUR": "hour",
    "HOURS": "hour", "MINUTE": "minute", "MINUTES": "minute",
    "SECOND": "second", "SECONDS": "second", "MILLI": "milli",
    "MILLIS": "milli", "MILLISECOND": "milli", "MILLISECONDS": "milli",
}


def parse_iso(value: str) -> datetime:
    """Parse an ISO-8601 date (as CKAN and Solr write them) into UTC."""
    m = _ISO_RE.match(value.strip())
    if not m:
        raise bad_request(f"Invalid Date String:'{value}'")
    y, mo, d, h, mi, s, frac, tz = m.groups()
    micro = int((frac or "0")[:6].ljust(6, "0"))
    try:
        dt = datetime(int(y), int(mo), int(d), int(h or 0), int(mi or 0),
                      int(s or 0), micro, tzinfo=UTC)
    except ValueError:
        raise bad_request(f"Invalid Date String:'{value}'") from None
    if tz and tz != "Z":
        sign = 1 if tz[0] == "+" else -1
        digits = tz[1:].replace(":", "")
        dt -= sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
    return dt


def _add_months(dt: datetime, months: int) -> datetime:
    total = dt.year * 12 + dt.month - 1 + months
    year, month = divmod(total, 12)
    day = min(dt.day, calendar.monthrange(year, month + 1)[1])
    return dt.replace(year=year, month=month + 1, day=day)


def _round(dt: datetime, unit: str) -> datetime:
    if unit == "year":
        return dt.replace(month=1, day=1, hour=0, minute=0, second=0,
                          microsecond=0)
    if unit == "month":
        return dt.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    if unit == "day":
        return dt.replace(hour=0, minute=0, second=0, microsecond=0)
    if unit == "hour":
        return dt.replace(minute=0, second=0, microsecond=0)
    if unit == "minute":
        return dt.replace(second=0, microsecond=0)
    if unit == "second":
        return dt.replace(microsecond=0)
    return dt.replace(microsecond=dt.microsecond // 1000 * 1000)


def _add(dt: datetime, n: int, unit: str) -> datetime:
    if unit == "year":
        return _add_months(dt, 12 * n)
    if unit == "month":
        return _add_months(dt, n)
    deltas = {"day": timedelta(days=n), "hour": timedelta(hours=n),
              "minute": timedelta(minutes=n), "second": timedelta(seconds=n),
              "milli": timedelta(milliseconds=n)}
    return dt + deltas[unit]


def parse_date_math(value: str, now: datetime | None = None) -> datetime:
    """Evaluate ``NOW``, ISO dates and Solr date math suffixes."""
    value = value.strip()
    if value.upper().startswith("NOW"):
        base = now or datetime.now(UTC)
        rest = value[3:]
    else:
        # The ISO part ends at 'Z' (Solr requires it before any math).
        idx = value.find("Z")
        if idx == -1:
            base, rest = parse_iso(value), ""
        else:
            base, rest = parse_iso(value[:idx + 1]), value[idx + 1:]
    pos = 0
    rest = rest.upper()
    while pos < len(rest):
        m = _MATH_RE.match(rest, pos)
        if not m:
            raise bad_request(f"Invalid Date Math String:'{value}'")
        sign, num, unit, round_unit = m.groups()
        try:
            if round_unit:
                base = _round(base, _UNITS[round_unit])
            else:
                n = int(num) * (1 if sign == "+" else -1)
                base = _add(base, n, _UNITS[unit])
        except (KeyError, OverflowError, ValueError):
            raise bad_request(f"Invalid Date Math String:'{value}'") from None
        pos = m.end()
    return base


def sortable(dt: datetime) -> str:
    """Fixed-width form stored for filtering/sorting (lexical = time order)."""
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def solr_format(dt: datetime) -> str:
    """How Solr prints dates: millis only when non-zero."""
    base = dt.strftime("%Y-%m-%dT%H:%M:%S")
    ms = dt.microsecond // 1000
    return f"{base}.{ms:03d}Z" if ms else base + "Z"
