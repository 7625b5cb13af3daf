"""Solr date parsing, formatting and date math (NOW-7DAYS/DAY etc.)."""
from __future__ import annotations

import calendar
import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from zoneinfo import ZoneInfo

from .errors import bad_request

# The one form Solr's DateMathParser reads, in documents and in queries
# alike: 2019-10-10T01:15:00Z, optionally with a fraction of a second. Solr
# answers 400 "Invalid Date String" for a date without time, without seconds,
# with a space for the T, in lower case, or with an offset (+00:00): CKAN
# 2.12.0 sends such offsets for *_date extras, and pgsolr refuses them too, so
# that what indexes on pgsolr indexes on Solr.
_ISO_RE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?Z$")
_MATH_RE = re.compile(r"([+-])(\d+)([A-Z]+)|/([A-Z]+)")
# Solr's custom time zone ids (TimeZoneUtils): GMT+h, GMT-hh:mm, GMT+hhmm
_CUSTOM_TZ_RE = re.compile(r"GMT([+-])(\d{1,2})(?::?(\d{2}))?")
_TZ_NAME_RE = re.compile(r"[A-Za-z][A-Za-z0-9_+\-]*(?:/[A-Za-z0-9_+\-]+){0,2}")
_UNITS = {
    "YEAR": "year", "YEARS": "year", "MONTH": "month", "MONTHS": "month",
    "DAY": "day", "DAYS": "day", "DATE": "day", "HOUR": "hour",
    "HOURS": "hour", "MINUTE": "minute", "MINUTES": "minute",
    "SECOND": "second", "SECONDS": "second", "MILLI": "milli",
    "MILLIS": "milli", "MILLISECOND": "milli", "MILLISECONDS": "milli",
}


def parse_iso(value: str) -> datetime:
    """Parse a date as Solr writes and reads them (``2024-01-02T03:04:05Z``,
    ``.123Z``) into UTC; anything else is Solr's 400."""
    m = _ISO_RE.match(value)
    if not m:
        raise bad_request(f"Invalid Date String:'{value}'")
    y, mo, d, h, mi, s, frac = m.groups()
    try:
        return datetime(int(y), int(mo), int(d), int(h), int(mi), int(s),
                        int((frac or "0")[:6].ljust(6, "0")), tzinfo=UTC)
    except ValueError:
        raise bad_request(f"Invalid Date String:'{value}'") from None


def parse_tz(value: str | None) -> tzinfo:
    """Solr's ``TZ`` parameter: the time zone of date math rounding
    (``NOW/DAY``) and of adding days, months and years. An IANA name
    (Europe/Berlin), UTC/GMT or a custom id GMT+hh:mm."""
    value = (value or "").strip()
    if not value or value in ("UTC", "GMT", "Z"):
        return UTC
    m = _CUSTOM_TZ_RE.fullmatch(value)
    if m:
        hours, minutes = int(m.group(2)), int(m.group(3) or 0)
        if hours <= 23 and minutes <= 59:
            offset = timedelta(hours=hours, minutes=minutes)
            return timezone(offset if m.group(1) == "+" else -offset)
    elif len(value) <= 64 and _TZ_NAME_RE.fullmatch(value):
        try:
            return ZoneInfo(value)
        except (ValueError, OSError, KeyError):   # unknown, or not a TZif file
            pass
    raise bad_request(f"Solr JVM does not support TZ: {value}")


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


def parse_date_math(value: str, now: datetime | None = None, tz: tzinfo = UTC) -> datetime:
    """Evaluate ``NOW``, ISO dates and Solr date math suffixes. Rounding
    and calendar units count in ``tz`` (the request's TZ), as in Solr,
    which does not strip spaces either."""
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
    if rest and tz is not UTC:
        # the wall-clock time in tz; back to UTC at the end
        try:
            base = base.astimezone(tz).replace(tzinfo=None)
        except (OverflowError, ValueError):
            raise bad_request(f"Invalid Date Math String:'{value}'") from None
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
    if base.tzinfo is None:
        try:
            base = base.replace(tzinfo=tz).astimezone(UTC)
        except (OverflowError, ValueError):
            raise bad_request(f"Invalid Date Math String:'{value}'") from None
    return base


def _ymd_hms(dt: datetime) -> str:
    # not strftime: its %Y does not pad years before 1000 to four digits
    return (f"{dt.year:04d}-{dt.month:02d}-{dt.day:02d}"
            f"T{dt.hour:02d}:{dt.minute:02d}:{dt.second:02d}")


def sortable(dt: datetime) -> str:
    """Fixed-width form stored for filtering/sorting (lexical = time order)."""
    return _ymd_hms(dt) + f".{dt.microsecond // 1000:03d}Z"


def solr_format(dt: datetime) -> str:
    """How Solr prints dates: millis only when non-zero."""
    base = _ymd_hms(dt)
    ms = dt.microsecond // 1000
    return f"{base}.{ms:03d}Z" if ms else base + "Z"
