"""The attribute scheme of broadband coverage sources: one record per area
and reference date.

The scheme is the one of the federal broadband atlas (Breitbandatlas /
Gigabit-Grundbuch of the Bundesnetzagentur), its published names in
``dataset_types.py``: ``down_fn_hh_<technology>_<Mbit/s>`` (percentage
0-100 of households that can get at least that downstream speed over fixed
networks), ``households`` and the counts of schools, hospitals and business
parks with and without fibre. This module holds the names a source's
attributes are recognised by (compared folded; a ``fields`` mapping renames
other schemes), the checks of one feature's or row's values, the
deduplication of areas and the DataStore row of a record. Pure: no CKAN,
no database, no network.
"""
from __future__ import annotations

import calendar
import datetime as dt
import itertools
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ckanext.gelsenkirchen.dataset_types import (
    COUNT_FIELDS,
    LEVELS,
    MEASURE_PREFIX,
    MEASURES,
    SPEEDS,
    TECHNOLOGIES,
)
from ckanext.gelsenkirchen.harvesters.report import Skipped
from ckanext.gelsenkirchen.harvesters.source.jsondoc import feature_id
from ckanext.gelsenkirchen.harvesters.source.numbers import choose_decimal, parse_number
from ckanext.gelsenkirchen.harvesters.source.text import fold, shown

if TYPE_CHECKING:
    from .options import BroadbandOptions

_MEASURE_RE = re.compile(r"^down_fn_hh_([a-z0-9]+)_(\d+)$")

IDENTITY_FIELDS: tuple[str, ...] = (
    "area_id", "area_name", "area_level", "reference_date", "households", "ags")

#: Every name a ``fields`` mapping may map onto.
CANONICAL_FIELDS: frozenset[str] = frozenset(IDENTITY_FIELDS + COUNT_FIELDS + MEASURES)

#: Attribute names recognised without a ``fields`` mapping (lower case).
DEFAULT_ALIASES: dict[str, str] = {
    "area_id": "area_id", "gebiet_id": "area_id", "gebietsschluessel": "area_id",
    "stadtteil_id": "area_id", "stadtteil_nr": "area_id", "schluessel": "area_id",
    "area_name": "area_name", "name": "area_name", "gebiet": "area_name",
    "gebietsname": "area_name", "stadtteil": "area_name", "bezeichnung": "area_name",
    "area_level": "area_level", "ebene": "area_level", "level": "area_level",
    "reference_date": "reference_date", "stichtag": "reference_date",
    "datenstand": "reference_date", "stand": "reference_date",
    "households": "households", "haushalte": "households", "anz_hh": "households",
    "hh_gesamt": "households", "hh": "households",
    "ags": "ags",
    "schulen_glasfaser": "schools_fibre", "schulen_ohne_glasfaser": "schools_no_fibre",
    "krankenhaeuser_glasfaser": "hospitals_fibre",
    "krankenhaeuser_ohne_glasfaser": "hospitals_no_fibre",
    "gewerbegebiete_glasfaser": "business_parks_fibre",
    "gewerbegebiete_ohne_glasfaser": "business_parks_no_fibre",
}

for _name in CANONICAL_FIELDS:
    DEFAULT_ALIASES.setdefault(_name, _name)

#: Scheme names whose values are numbers (their text decides the decimal rule).
NUMBER_FIELDS: frozenset[str] = frozenset((*MEASURES, *COUNT_FIELDS, "households"))

#: The largest household or facility count of a row: the DataStore's
#: ``int`` (PostgreSQL integer) column.
MAX_COUNT = 2**31 - 1

#: Tolerance when comparing percentages of two speed classes (rounding).
MONOTONIC_TOLERANCE = 1e-6


@dataclass
class AreaRecord:
    """One area (Stadtteil, Stadtbezirk, grid cell, the city) at one
    reference date."""

    area_id: str
    reference_date: str  # ISO date, YYYY-MM-DD
    area_name: str | None = None
    area_level: str = "stadtteil"
    households: float | None = None
    measures: dict[str, float] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)
    geometry: Any = None  # shapely geometry in WGS84, or None
    aggregated_from: int | None = None
    ags: str | None = None
    source_row: int | None = None  # 1-based feature/row number in the source

    @property
    def key(self) -> tuple[str, str]:
        return (self.area_id, self.reference_date)


@dataclass
class ParseResult:
    records: list[AreaRecord] = field(default_factory=list)
    skipped: list[Skipped] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: Statistics for the job report / benchmark (e.g. cells read).
    stats: dict[str, Any] = field(default_factory=dict)

    def extend(self, other: ParseResult) -> None:
        self.records.extend(other.records)
        self.skipped.extend(other.skipped)
        self.notes.extend(other.notes)
        for key, value in other.stats.items():
            if isinstance(value, int | float) and isinstance(self.stats.get(key), int | float):
                self.stats[key] += value
            else:
                self.stats.setdefault(key, value)


_MONTHS_DE = {
    "januar": 1, "februar": 2, "märz": 3, "maerz": 3, "april": 4, "mai": 5, "juni": 6,
    "juli": 7, "august": 8, "september": 9, "oktober": 10, "november": 11, "dezember": 12,
}


def _month_end(year: int, month: int) -> str:
    return dt.date(year, month, calendar.monthrange(year, month)[1]).isoformat()


def normalise_reference_date(value: Any) -> str | None:
    """A reference date as ISO ``YYYY-MM-DD``; month-only dates
    (``2025-06``, ``06/2025``, ``Juni 2025``) become the month's last day,
    the Breitbandatlas convention for its June/December reference dates.
    Integers above 10**11 are ArcGIS epoch milliseconds. None if unreadable."""
    if value is None or value == "":
        return None
    try:
        if isinstance(value, dt.datetime):
            return value.date().isoformat()
        if isinstance(value, dt.date):
            return value.isoformat()
        if isinstance(value, int | float) and not isinstance(value, bool):
            if value > 1e11:  # ArcGIS date fields: milliseconds since the epoch
                return dt.datetime.fromtimestamp(value / 1000, dt.UTC).date().isoformat()
            return None
        text = str(value).strip()
        if m := re.fullmatch(r"(\d{4})-(\d{2})-(\d{2})(?:[T ].*)?", text):
            return dt.date(int(m[1]), int(m[2]), int(m[3])).isoformat()
        if m := re.fullmatch(r"(\d{4})-(\d{1,2})", text):
            return _month_end(int(m[1]), int(m[2]))
        if m := re.fullmatch(r"(\d{1,2})\.(\d{1,2})\.(\d{4})", text):
            return dt.date(int(m[3]), int(m[2]), int(m[1])).isoformat()
        if m := re.fullmatch(r"(\d{1,2})[/.](\d{4})", text):
            return _month_end(int(m[2]), int(m[1]))
        if m := re.fullmatch(r"([A-Za-zäÄ]+)\s+(\d{4})", text):
            month = _MONTHS_DE.get(m[1].lower())
            if month:
                return _month_end(int(m[2]), month)
    except (ValueError, OverflowError, OSError):  # beyond the calendar or time_t
        return None
    return None


@dataclass
class Mapper:
    """Maps raw attribute names onto the scheme, remembering unknown
    technology codes / speeds (reported once per attribute)."""

    opts: BroadbandOptions
    cache: dict[str, str | None] = field(default_factory=dict)
    unknown: dict[str, int] = field(default_factory=dict)  # attribute -> rows
    unknown_reason: dict[str, str] = field(default_factory=dict)
    decimal: str = "point"
    #: how the decimal rule was chosen (for the job report)
    decimal_rule: str = ""

    def target(self, name: str) -> str | None:
        if name in self.cache:
            return self.cache[name]
        aliases = self.opts.aliases
        folded = fold(name)
        target = aliases.get(folded)
        if target is None and (m := _MEASURE_RE.match(folded)):
            tech, speed = m[1], int(m[2])
            if tech not in TECHNOLOGIES:
                self.unknown_reason[name] = f"unknown technology code: {tech!r}"
            elif speed not in SPEEDS:
                self.unknown_reason[name] = f"unknown speed class: {speed} Mbit/s"
        self.cache[name] = target
        return target

    def choose_decimal(self, rows: Iterable[Mapping[str, Any]]) -> None:
        """The decimal rule: configured, else detected from the text of the
        number attributes of the first 1,000 rows/features."""
        sample = [value for props in itertools.islice(rows, 1000)
                  for name, value in props.items() if self.target(name) in NUMBER_FIELDS]
        self.decimal, self.decimal_rule = choose_decimal(self.opts.decimal, sample)

    def note_unknown(self, name: str) -> None:
        if name in self.unknown_reason:
            self.unknown[name] = self.unknown.get(name, 0) + 1

    def report(self) -> list[Skipped]:
        """One entry per unknown attribute: its values are not published."""
        return [Skipped(reason=f"{self.unknown_reason[name]} (attribute {name} ignored in "
                               f"{count} feature(s)/row(s))")
                for name, count in sorted(self.unknown.items())]


def _measure_problems(measures: Mapping[str, float]) -> list[str]:
    """Range and speed-class consistency of one record's percentages."""
    problems = []
    for name, value in measures.items():
        if not 0.0 <= value <= 100.0:
            problems.append(f"percentage outside 0-100: {name} = {value:g}")
    for tech in TECHNOLOGIES:
        previous: tuple[int, float] | None = None
        for speed in SPEEDS:
            measured = measures.get(f"{MEASURE_PREFIX}{tech}_{speed}")
            if measured is None:
                continue
            if previous is not None and measured > previous[1] + MONOTONIC_TOLERANCE:
                problems.append(
                    f"higher speed class covers more households: {tech} {speed} Mbit/s "
                    f"({measured:g} %) > {previous[0]} Mbit/s ({previous[1]:g} %)")
            previous = (speed, measured)
    return problems


def raw_id(props: Mapping[str, Any], mapper: Mapper, fallback: Any = None) -> Any:
    """The area identifier of a feature/row that was skipped (for the report)."""
    for name, value in props.items():
        if mapper.target(name) == "area_id" and value not in (None, ""):
            return value
    return fallback


def build_record(props: Mapping[str, Any], mapper: Mapper, row: int | None = None,  # noqa: C901 - to split with the parser hardening (hostile input)
                 own_id: Any = None) -> tuple[AreaRecord | None, str | None]:
    """Map and validate one feature's/row's attributes; ``own_id`` is the
    feature's own id (the identity rule: source/jsondoc.py feature_id).

    Returns ``(record, None)`` or ``(None, reason)``; geometry is set by
    the caller."""
    opts = mapper.opts
    record_values: dict[str, Any] = {}
    measures: dict[str, float] = {}
    counts: dict[str, int] = {}
    for name, raw in props.items():
        target = mapper.target(name)
        if target is None:
            mapper.note_unknown(name)
            continue
        if target.startswith(MEASURE_PREFIX) or target in COUNT_FIELDS or target == "households":
            try:
                number = parse_number(raw, mapper.decimal)
            except (TypeError, ValueError):
                return None, f"not a number: {name} = {shown(raw)}"
            if number is None:
                continue
            if target.startswith(MEASURE_PREFIX):
                measures[target] = number
            elif number < 0 or number != int(number) or number > MAX_COUNT:
                return None, f"not a non-negative whole number: {name} = {shown(raw)}"
            elif target == "households":
                record_values["households"] = number
            else:
                counts[target] = int(number)
        elif raw is not None and raw != "":
            record_values[target] = raw
    area_id = feature_id(record_values.get("area_id"), own_id)
    if area_id is None:
        return None, "missing area identifier"
    if isinstance(area_id, float) and area_id.is_integer():
        area_id = int(area_id)
    area_id = str(area_id).strip()
    raw_date = record_values.get("reference_date")
    date = normalise_reference_date(raw_date) if raw_date is not None else opts.reference_date
    if date is None:
        if raw_date is None:
            return None, "missing reference date"
        return None, f"invalid reference date: {raw_date!r}"
    level = str(record_values.get("area_level", opts.area_level)).strip().lower()
    if level not in LEVELS:
        return None, f"unknown area level: {level!r}"
    problems = _measure_problems(measures)
    if problems:
        return None, "; ".join(problems)
    area_name = record_values.get("area_name")
    ags = record_values.get("ags")
    return AreaRecord(
        area_id=area_id, reference_date=date,
        area_name=str(area_name).strip() if area_name is not None else None,
        area_level=level, households=record_values.get("households"),
        measures=measures, counts=counts,
        ags=str(ags).strip() if ags is not None else None, source_row=row,
    ), None


def deduplicate(result: ParseResult) -> None:
    """Keep the first record of each (area, reference date); the others
    are skipped with a reason."""
    seen: dict[tuple[str, str], int] = {}
    kept = []
    for index, record in enumerate(result.records):
        if record.key in seen:
            result.skipped.append(Skipped(
                reason=(f"duplicate area: {record.area_id} at {record.reference_date} "
                        "(the first occurrence is kept)"),
                row=record.source_row, feature_id=record.area_id))
            continue
        seen[record.key] = index
        kept.append(record)
    result.records = kept


def finish(result: ParseResult, mapper: Mapper, deduplicate_records: bool = True) -> None:
    result.skipped.extend(mapper.report())
    result.stats["decimal"] = mapper.decimal_rule
    if deduplicate_records:
        deduplicate(result)


def record_to_row(record: AreaRecord) -> dict[str, Any]:
    """A DataStore row, key ``<area_id>@<reference_date>`` (None values left
    out to keep snapshots small)."""
    row: dict[str, Any] = {
        "id": f"{record.area_id}@{record.reference_date}",
        "area_id": record.area_id, "area_name": record.area_name,
        "area_level": record.area_level, "reference_date": record.reference_date,
        "households": None if record.households is None else int(round(record.households)),
        "aggregated_from": record.aggregated_from,
        **record.measures, **record.counts,
    }
    return {k: v for k, v in row.items() if v is not None}
