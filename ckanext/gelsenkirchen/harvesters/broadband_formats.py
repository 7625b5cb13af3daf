"""Pure readers, validators and aggregation for broadband coverage sources.

Nothing in this module talks to CKAN, the database or the network: every
reader takes bytes (or already decoded documents) and returns
:class:`ParseResult` objects, so each rule can be unit-tested on its own.
The harvester in ``broadband.py`` does the HTTP (through the shared
harvester base) and the publishing.

The attribute scheme is the one of the federal broadband atlas
(Breitbandatlas / Gigabit-Grundbuch of the Bundesnetzagentur):

``down_fn_hh_<technology>_<Mbit/s>``
    percentage (0-100) of households that can get at least that downstream
    speed over fixed networks, technology one of :data:`TECHNOLOGIES`,
    speed one of :data:`SPEEDS`.

plus household counts (``households``) and counts of schools, hospitals
and business parks with and without fibre (:data:`COUNT_FIELDS`).  A
``fields`` mapping in the source configuration renames other schemes onto
these names.
"""
from __future__ import annotations

import calendar
import datetime as dt
import io
import itertools
import re
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import shapely
from pyproj import CRS
from shapely.geometry import shape
from shapely.validation import explain_validity, make_valid

from ckanext.gelsenkirchen.dataset_types import (
    COUNT_FIELDS,
    LEVELS,
    MEASURE_PREFIX,
    MEASURES,
    SPEEDS,
    TECHNOLOGIES,
)
from ckanext.gelsenkirchen.geography import CITY_AGS, CITY_NAME, Boundary
from ckanext.gelsenkirchen.harvesters.report import Skipped
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs
from ckanext.gelsenkirchen.harvesters.source.jsondoc import (
    feature_collection,
    feature_id,
    load_json,
)
from ckanext.gelsenkirchen.harvesters.source.numbers import choose_decimal, parse_number
from ckanext.gelsenkirchen.harvesters.source.text import fold, read_csv

# --------------------------------------------------------------------------
# The attribute scheme
# --------------------------------------------------------------------------

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

DEFAULT_ATTRIBUTION = ("Datenquelle: Breitbandatlas | Gigabit-Grundbuch der "
                       "Bundesnetzagentur")
FORMATS: tuple[str, ...] = ("geojson", "ogcapi", "wfs", "arcgis", "csv", "xlsx", "gpkg")

#: Tolerance when comparing percentages of two speed classes (rounding).
MONOTONIC_TOLERANCE = 1e-6


# --------------------------------------------------------------------------
# Records and results
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Source configuration
# --------------------------------------------------------------------------

@dataclass
class BroadbandOptions:
    """The reading rules of a broadband source, from its (checked) configuration."""

    format: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    reference_date: str | None = None
    area_level: str = "stadtteil"
    crs: str | None = None
    attribution: str = DEFAULT_ATTRIBUTION
    layer: str | None = None
    sheet: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    where: str = "1=1"
    page_size: int = 1000
    page_limit: int = 100
    ags: str = CITY_AGS
    arcgis_format: str = "geojson"

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> BroadbandOptions:
        """The options of a configuration already checked against the
        harvester's configuration keys."""
        names = {f.name for f in cls.__dataclass_fields__.values()}
        opts = cls(**{k: v for k, v in cfg.items() if k in names and k != "reference_date"})
        if cfg.get("reference_date") is not None:
            opts.reference_date = normalise_reference_date(cfg["reference_date"])
        return opts

    @property
    def aliases(self) -> dict[str, str]:
        merged = dict(DEFAULT_ALIASES)
        merged.update({fold(k): v for k, v in self.fields.items()})
        return merged


# --------------------------------------------------------------------------
# Values
# --------------------------------------------------------------------------

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
    except ValueError:
        return None
    return None


# --------------------------------------------------------------------------
# One feature / row -> one record
# --------------------------------------------------------------------------

@dataclass
class _Mapper:
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
            value = measures.get(f"{MEASURE_PREFIX}{tech}_{speed}")
            if value is None:
                continue
            if previous is not None and value > previous[1] + MONOTONIC_TOLERANCE:
                problems.append(
                    f"higher speed class covers more households: {tech} {speed} Mbit/s "
                    f"({value:g} %) > {previous[0]} Mbit/s ({previous[1]:g} %)")
            previous = (speed, value)
    return problems


def _raw_id(props: Mapping[str, Any], mapper: _Mapper, fallback: Any = None) -> Any:
    """The area identifier of a feature/row that was skipped (for the report)."""
    for name, value in props.items():
        if mapper.target(name) == "area_id" and value not in (None, ""):
            return value
    return fallback


def build_record(props: Mapping[str, Any], mapper: _Mapper, row: int | None = None,
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
                return None, f"not a number: {name} = {raw!r}"
            if number is None:
                continue
            if target.startswith(MEASURE_PREFIX):
                measures[target] = number
            elif number < 0 or number != int(number):
                return None, f"not a non-negative whole number: {name} = {raw!r}"
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
    name = record_values.get("area_name")
    ags = record_values.get("ags")
    return AreaRecord(
        area_id=area_id, reference_date=date,
        area_name=str(name).strip() if name is not None else None,
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


# --------------------------------------------------------------------------
# Geometry
# --------------------------------------------------------------------------

def repair(geometry: Any, label: str, notes: list[str]) -> Any:
    """Repair an invalid polygon with make_valid, noting it for the report."""
    if geometry is None or geometry.is_empty or geometry.is_valid:
        return geometry
    reason = explain_validity(geometry)
    fixed = make_valid(geometry)
    if fixed.geom_type == "GeometryCollection":
        polygons = [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(polygons) if polygons else fixed
    notes.append(f"{label}: invalid polygon repaired ({reason})")
    return fixed


# --------------------------------------------------------------------------
# GeoJSON, OGC API Features, WFS, ArcGIS REST
# --------------------------------------------------------------------------

def features_to_result(features: Iterable[Mapping[str, Any]], opts: BroadbandOptions,
                       mapper: _Mapper, source_crs: str | None = None,
                       start_index: int = 0) -> ParseResult:
    """GeoJSON features to validated, reprojected, repaired records; the
    configured CRS wins over the one the document names."""
    result = ParseResult()
    geometry_crs = opts.crs or source_crs
    count = 0
    for index, feature in enumerate(features, start=start_index + 1):
        count += 1
        if not isinstance(feature, Mapping):
            result.skipped.append(Skipped("not a GeoJSON feature", row=index))
            continue
        props = feature.get("properties") or {}
        if not isinstance(props, Mapping):
            result.skipped.append(Skipped("properties is not an object", row=index))
            continue
        record, reason = build_record(props, mapper, index, feature.get("id"))
        if record is None:
            result.skipped.append(Skipped(reason or "invalid", row=index, feature_id=feature_id(
                _raw_id(props, mapper), feature.get("id"))))
            continue
        geometry = feature.get("geometry")
        if geometry:
            try:
                geom = shape(geometry)
            except Exception as error:  # noqa: BLE001 - shapely raises many types
                result.skipped.append(Skipped(f"unreadable geometry: {error}", row=index,
                                              feature_id=record.area_id))
                continue
            geom = crs.reproject(geom, geometry_crs)
            record.geometry = repair(geom, f"area {record.area_id}", result.notes)
        result.records.append(record)
    result.stats["features"] = count
    return result


def _properties(features: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    for feature in features:
        if isinstance(feature, Mapping) and isinstance(feature.get("properties"), Mapping):
            yield feature["properties"]


def read_geojson(data: bytes | str | Mapping, opts: BroadbandOptions) -> ParseResult:
    """A GeoJSON FeatureCollection."""
    return collect_pages([data if isinstance(data, Mapping) else load_json(data)], opts)


def collect_pages(docs: Iterable[Mapping[str, Any]], opts: BroadbandOptions) -> ParseResult:
    """Records from the GeoJSON FeatureCollections of a source (one for a
    file, one per page of a paged source)."""
    pages = [feature_collection(doc) for doc in docs]
    mapper = _Mapper(opts)
    mapper.choose_decimal(_properties(f for features, _crs in pages for f in features))
    result = ParseResult()
    offset = 0
    for features, page_crs in pages:
        result.extend(features_to_result(features, opts, mapper, page_crs, offset))
        offset += len(features)
    result.stats["pages"] = len(pages)
    _finish(result, mapper)
    return result


# --------------------------------------------------------------------------
# CSV and XLSX
# --------------------------------------------------------------------------

def _rows_to_result(header: list[Any], rows: list[tuple[int, list[Any]]],
                    opts: BroadbandOptions) -> ParseResult:
    """Records of table rows ``(line number, values)`` under ``header``."""
    names = [str(h).strip() if h is not None else "" for h in header]
    if not any(names):
        raise ParseError("table has no header row")
    mapper = _Mapper(opts)
    if not any(mapper.target(n) and mapper.target(n).startswith(MEASURE_PREFIX) for n in names):
        raise ParseError(
            "table has no down_fn_hh_<technology>_<Mbit/s> column; map the columns with "
            "'fields' in the source configuration")
    rows = [(line, values) for line, values in rows
            if any(v not in (None, "") for v in values)]
    mapper.choose_decimal(dict(zip(names, values, strict=False)) for _line, values in rows)
    result = ParseResult()
    count = 0
    for line, values in rows:
        count += 1
        props = {name: value for name, value in zip(names, values, strict=False) if name}
        record, reason = build_record(props, mapper, line)
        if record is None:
            result.skipped.append(Skipped(reason or "invalid", row=line,
                                          feature_id=_raw_id(props, mapper)))
        else:
            result.records.append(record)
    result.stats["rows"] = count
    _finish(result, mapper)
    return result


def read_table_csv(data: bytes, opts: BroadbandOptions) -> ParseResult:
    """A CSV table (source/text.py read_csv): one row per area and date."""
    table = read_csv(data, opts.delimiter, opts.encoding)
    result = _rows_to_result(table.header, table.rows, opts)
    result.skipped.extend(Skipped(f"wrong number of fields: {count} instead of "
                                  f"{len(table.header)}", row=line)
                          for line, count in table.misfits)
    result.stats["rows"] += len(table.misfits)
    return result


def read_xlsx(data: bytes, opts: BroadbandOptions) -> ParseResult:
    import zipfile

    from openpyxl import load_workbook
    try:
        workbook = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        raise ParseError(f"not a readable XLSX workbook: {error}") from error
    try:
        if opts.sheet:
            if opts.sheet not in workbook.sheetnames:
                raise ParseError(
                    f"sheet {opts.sheet!r} not found; the workbook has "
                    f"{', '.join(workbook.sheetnames)}")
            sheet = workbook[opts.sheet]
        else:
            sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ParseError("worksheet is empty")
        return _rows_to_result(list(header), list(enumerate(map(list, rows), start=2)), opts)
    finally:
        workbook.close()


# --------------------------------------------------------------------------
# GeoPackage (SQLite + GeoPackage binary geometry, no GDAL)
# --------------------------------------------------------------------------

_ENVELOPE_BYTES = {0: 0, 1: 32, 2: 48, 3: 48, 4: 64}


def gpkg_geometry_to_wkb(blob: bytes) -> bytes | None:
    """Strip the GeoPackage binary header (``GP``, version, flags, srs_id,
    envelope) and return the standard WKB; None for an empty geometry."""
    if blob is None:
        return None
    blob = bytes(blob)
    if len(blob) < 8 or blob[:2] != b"GP":
        raise ParseError("geometry is not in GeoPackage binary format (no 'GP' magic)")
    flags = blob[3]
    if flags & 0b0010_0000:
        raise ParseError("GeoPackage extended geometry types are not supported")
    envelope = (flags >> 1) & 0b111
    if envelope not in _ENVELOPE_BYTES:
        raise ParseError(f"invalid GeoPackage envelope indicator {envelope}")
    if flags & 0b0001_0000:
        return None
    start = 8 + _ENVELOPE_BYTES[envelope]
    if len(blob) <= start:
        raise ParseError("truncated GeoPackage geometry")
    return blob[start:]


def _open_sqlite(data: bytes) -> sqlite3.Connection:
    if not data.startswith(b"SQLite format 3\x00"):
        raise ParseError("not a GeoPackage (not an SQLite database file)")
    con = sqlite3.connect(":memory:")
    try:
        con.deserialize(data)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        con.close()
        raise ParseError(f"corrupt GeoPackage: {error}") from error
    return con


def _gpkg_srs(con: sqlite3.Connection, srs_id: int) -> str | None:
    row = con.execute(
        "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys "
        "WHERE srs_id = ?", (srs_id,)).fetchone()
    if row is None:
        raise ParseError(f"srs_id {srs_id} missing from gpkg_spatial_ref_sys")
    organization, code, definition = row
    if organization and organization.upper() == "EPSG" and code and code > 0:
        return f"EPSG:{int(code)}"
    if definition and definition.strip().lower() not in ("", "undefined"):
        try:
            return crs.normalize_crs(CRS.from_wkt(definition).to_wkt())
        except Exception as error:  # noqa: BLE001 - pyproj raises several types
            raise ParseError(f"unreadable CRS definition for srs_id {srs_id}") from error
    return None


def _quote(identifier: str) -> str:
    return '"' + identifier.replace('"', '""') + '"'


@dataclass
class GridCells:
    """A GeoPackage grid layer read column-wise (numpy arrays)."""

    layer: str
    crs: str | None
    centroids: np.ndarray  # (n, 2) in WGS84
    households: np.ndarray  # float, nan where unknown
    measures: dict[str, np.ndarray]  # nan where missing
    counts: dict[str, np.ndarray]
    reference_dates: list[str]
    ags: list[str | None]


def read_geopackage(data: bytes, opts: BroadbandOptions) -> tuple[GridCells, ParseResult]:
    """Read grid cells from a GeoPackage feature table.

    Each cell is validated like a row (range, speed-class order, reference
    date); invalid cells are skipped and reported. Geometry is reduced to
    the cell centroid, reprojected to WGS84."""
    con = _open_sqlite(data)
    try:
        return _read_geopackage(con, opts)
    except sqlite3.DatabaseError as error:
        raise ParseError(f"corrupt or unexpected GeoPackage: {error}") from error
    finally:
        con.close()


def _read_geopackage(con: sqlite3.Connection, opts: BroadbandOptions
                     ) -> tuple[GridCells, ParseResult]:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = {"gpkg_contents", "gpkg_geometry_columns", "gpkg_spatial_ref_sys"} - tables
    if missing:
        raise ParseError(
            f"not a GeoPackage: table(s) {', '.join(sorted(missing))} missing")
    layers = [r[0] for r in con.execute(
        "SELECT table_name FROM gpkg_contents WHERE data_type = 'features' ORDER BY table_name")]
    if opts.layer:
        if opts.layer not in layers:
            raise ParseError(
                f"layer {opts.layer!r} not found; feature layers: {', '.join(layers) or 'none'}")
        layer = opts.layer
    elif len(layers) == 1:
        layer = layers[0]
    else:
        raise ParseError(
            "GeoPackage has " + (f"several feature layers ({', '.join(layers)}); set 'layer'"
                                 if layers else "no feature layer"))
    geom_row = con.execute(
        "SELECT column_name, srs_id FROM gpkg_geometry_columns WHERE table_name = ?",
        (layer,)).fetchone()
    if geom_row is None:
        raise ParseError(f"layer {layer!r} has no entry in gpkg_geometry_columns")
    if layer not in tables:
        raise ParseError(f"layer table {layer!r} is missing")
    geom_column, srs_id = geom_row
    layer_crs = opts.crs or _gpkg_srs(con, srs_id)
    cursor = con.execute(f"SELECT * FROM {_quote(layer)}")  # noqa: S608 - quoted identifier
    columns = [d[0] for d in cursor.description]
    if geom_column not in columns:
        raise ParseError(f"geometry column {geom_column!r} missing from {layer!r}")
    mapper = _Mapper(opts)
    targets = [mapper.target(c) if c != geom_column else None for c in columns]
    if not any(t and t.startswith(MEASURE_PREFIX) for t in targets):
        raise ParseError(
            f"layer {layer!r} has no down_fn_hh_<technology>_<Mbit/s> column; map the columns "
            "with 'fields' in the source configuration")
    if "ags" not in targets:
        raise ParseError(f"layer {layer!r} has no 'ags' column")
    geom_index = columns.index(geom_column)
    prop_columns = [(i, c) for i, c in enumerate(columns) if i != geom_index]
    sample = con.execute(f"SELECT * FROM {_quote(layer)} LIMIT 1000")  # noqa: S608 - quoted
    mapper.choose_decimal({c: row[i] for i, c in prop_columns} for row in sample)
    result = ParseResult()
    wkbs: list[bytes] = []
    records: list[AreaRecord] = []
    total = 0
    for total, row in enumerate(cursor, start=1):  # noqa: B007
        props = {c: row[i] for i, c in prop_columns}
        record, reason = build_record(props, mapper, total, own_id=total)
        if record is None:
            result.skipped.append(Skipped(reason or "invalid", row=total))
            continue
        try:
            wkb = gpkg_geometry_to_wkb(row[geom_index])
        except ParseError as error:
            result.skipped.append(Skipped(f"invalid geometry: {error}", row=total))
            continue
        if wkb is None:
            result.skipped.append(Skipped("empty geometry", row=total))
            continue
        wkbs.append(wkb)
        records.append(record)
    try:
        geoms = shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else np.array([])
    except shapely.errors.GEOSException as error:
        raise ParseError(f"corrupt WKB geometry in layer {layer!r}: {error}") from error
    n = len(records)
    if n:
        centroids = shapely.get_coordinates(shapely.centroid(geoms))
        transformer = crs.transformer_to_wgs84(layer_crs)
        if transformer is not None:
            lon, lat = transformer.transform(centroids[:, 0], centroids[:, 1])
            centroids = np.column_stack([lon, lat])
    else:
        centroids = np.zeros((0, 2))
    measure_names = sorted({m for r in records for m in r.measures})
    count_names = sorted({c for r in records for c in r.counts})
    grid = GridCells(
        layer=layer, crs=layer_crs, centroids=centroids,
        households=np.array([np.nan if r.households is None else r.households for r in records],
                            dtype=float),
        measures={m: np.array([r.measures.get(m, np.nan) for r in records], dtype=float)
                  for m in measure_names},
        counts={c: np.array([r.counts.get(c, 0) for r in records], dtype=float)
                for c in count_names},
        reference_dates=[r.reference_date for r in records],
        ags=[r.ags for r in records],
    )
    result.stats.update(cells=total, cells_valid=n, layer=layer)
    _finish(result, mapper, deduplicate_records=False)
    return grid, result


# --------------------------------------------------------------------------
# Boundaries and aggregation
# --------------------------------------------------------------------------

def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float | None:
    """Mean of the non-missing values weighted by ``weights``; None when no
    value (or no weight) is present."""
    mask = ~np.isnan(values) & (weights > 0)
    if not mask.any():
        return None
    return float(np.sum(values[mask] * weights[mask]) / np.sum(weights[mask]))


def _aggregate_arrays(indices: np.ndarray, grid: GridCells) -> tuple[dict, float | None, dict]:
    """Household-weighted (else per-cell) means for the cells ``indices``."""
    households = grid.households[indices]
    has_households = bool((~np.isnan(households)).any())
    weights = np.nan_to_num(households, nan=0.0) if has_households else np.ones(len(indices))
    measures = {}
    for name, values in grid.measures.items():
        mean = weighted_mean(values[indices], weights)
        if mean is not None:
            measures[name] = round(mean, 4)
    total_households = float(np.nansum(households)) if has_households else None
    counts = {name: int(values[indices].sum()) for name, values in grid.counts.items()}
    return measures, total_households, counts


def aggregate_grid(grid: GridCells, parsed: ParseResult, boundaries: list[Boundary],
                   opts: BroadbandOptions) -> ParseResult:
    """Aggregate grid cells of the city (``ags``) to the Stadtteile of
    ``boundaries`` (cell centroid in polygon; geography.py) and to the whole
    city, per reference date.

    Households weight each cell where household counts exist; where a
    Stadtteil has none, every cell counts once. Cells of the city whose
    centroid lies in no Stadtteil count for the city only (reported)."""
    result = ParseResult(skipped=list(parsed.skipped), notes=list(parsed.notes),
                         stats=dict(parsed.stats))
    ags = np.array([(a or "").strip() for a in grid.ags], dtype=object)
    in_city = ags == opts.ags
    other = int((~in_city).sum())
    if other:
        result.notes.append(f"{other} cell(s) with another ags than {opts.ags} left out")
    x, y = grid.centroids[:, 0], grid.centroids[:, 1]
    assigned = np.full(len(ags), -1, dtype=int)
    for index, boundary in enumerate(boundaries):
        shapely.prepare(boundary.geometry)
        inside = shapely.contains_xy(boundary.geometry, x, y) & in_city & (assigned < 0)
        assigned[inside] = index
    unassigned = int((in_city & (assigned < 0)).sum())
    if unassigned:
        result.notes.append(f"{unassigned} city cell(s) lie in no Stadtteil of the boundaries "
                            "file; counted for the city figure only")
    dates = np.array(grid.reference_dates, dtype=object)
    for date in sorted(set(grid.reference_dates)):
        of_date = in_city & (dates == date)
        for index, boundary in enumerate(boundaries):
            cells = np.nonzero(of_date & (assigned == index))[0]
            if not len(cells):
                continue
            measures, households, counts = _aggregate_arrays(cells, grid)
            result.records.append(AreaRecord(
                area_id=boundary.code, area_name=boundary.name, area_level="stadtteil",
                reference_date=date, households=households, measures=measures, counts=counts,
                geometry=boundary.geometry, aggregated_from=len(cells), ags=opts.ags))
        cells = np.nonzero(of_date)[0]
        if len(cells):
            measures, households, counts = _aggregate_arrays(cells, grid)
            result.records.append(AreaRecord(
                area_id=opts.ags, area_name=CITY_NAME, area_level="stadt", reference_date=date,
                households=households, measures=measures, counts=counts,
                aggregated_from=len(cells), ags=opts.ags))
    result.stats["cells_in_city"] = int(in_city.sum())
    return result


def _finest_level(records: list[AreaRecord]) -> str | None:
    levels = {r.area_level for r in records}
    for level in ("stadtteil", "stadtbezirk", "grid", "stadt"):
        if level in levels:
            return level
    return None


def city_summary(records: list[AreaRecord], reference_date: str | None = None) -> AreaRecord | None:
    """The whole city at one reference date (default: the latest).

    Uses the source's own city row if there is one; otherwise the
    household-weighted mean of the finest area level present (each area
    counts once where no area has a household count). Counts and
    households are summed."""
    if not records:
        return None
    date = reference_date or max(r.reference_date for r in records)
    of_date = [r for r in records if r.reference_date == date]
    city = [r for r in of_date if r.area_level == "stadt"]
    if city:
        return city[0]
    level = _finest_level(of_date)
    areas = [r for r in of_date if r.area_level == level]
    if not areas:
        return None
    households = np.array([np.nan if r.households is None else r.households for r in areas])
    has_households = bool((~np.isnan(households)).any())
    weights = np.nan_to_num(households, nan=0.0) if has_households else np.ones(len(areas))
    names = sorted({m for r in areas for m in r.measures})
    measures = {}
    for name in names:
        values = np.array([r.measures.get(name, np.nan) for r in areas], dtype=float)
        mean = weighted_mean(values, weights)
        if mean is not None:
            measures[name] = round(mean, 4)
    counts: dict[str, int] = {}
    for r in areas:
        for name, value in r.counts.items():
            counts[name] = counts.get(name, 0) + value
    return AreaRecord(
        area_id=CITY_AGS, area_name=CITY_NAME, area_level="stadt", reference_date=date,
        households=float(np.nansum(households)) if has_households else None,
        measures=measures, counts=counts, aggregated_from=len(areas), ags=CITY_AGS)


def with_city_rows(records: list[AreaRecord], ags: str = CITY_AGS) -> list[AreaRecord]:
    """Records plus a computed city row for every reference date that has
    none, so the DataStore carries the city's trend as well."""
    out = list(records)
    for date in sorted({r.reference_date for r in records}):
        of_date = [r for r in records if r.reference_date == date]
        if any(r.area_level == "stadt" for r in of_date):
            continue
        city = city_summary(of_date, date)
        if city is not None:
            city.area_id = ags
            city.ags = ags
            out.append(city)
    return out


def _finish(result: ParseResult, mapper: _Mapper, deduplicate_records: bool = True) -> None:
    result.skipped.extend(mapper.report())
    result.stats["decimal"] = mapper.decimal_rule
    if deduplicate_records:
        deduplicate(result)
