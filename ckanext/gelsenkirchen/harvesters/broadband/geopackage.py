"""GeoPackage grids (SQLite with GeoPackage binary geometries), read with the
standard library and shapely, without GDAL: the cells of one feature table,
validated like rows, reduced to their centroids in WGS 84 and kept
column-wise (numpy) for the aggregation. Pure: no CKAN, no database, no
network.
"""
from __future__ import annotations

import sqlite3
import time
from dataclasses import dataclass

import numpy as np
import shapely

from ckanext.gelsenkirchen.dataset_types import MEASURE_PREFIX
from ckanext.gelsenkirchen.harvesters.report import Skipped
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs
from ckanext.gelsenkirchen.harvesters.source.limits import DEFAULT as DEFAULT_LIMITS
from ckanext.gelsenkirchen.harvesters.source.limits import ParseLimits

from .options import BroadbandOptions
from .scheme import AreaRecord, Mapper, ParseResult, build_record, finish

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


def _open_sqlite(data: bytes, limits: ParseLimits) -> sqlite3.Connection:
    """The file as an in-memory database that runs no code of its own: read
    only, ``trusted_schema`` off (no SQL functions with side effects from
    views, triggers or generated columns), values and statements limited in
    length, every query within one time budget (a progress handler)."""
    if not data.startswith(b"SQLite format 3\x00"):
        raise ParseError("not a GeoPackage (not an SQLite database file)")
    con = sqlite3.connect(":memory:")
    deadline = time.monotonic() + limits.geopackage_seconds
    try:
        con.deserialize(data)
        con.execute("PRAGMA query_only = ON")
        con.execute("PRAGMA trusted_schema = OFF")
        con.setlimit(sqlite3.SQLITE_LIMIT_LENGTH, limits.geopackage_max_value_bytes)
        con.setlimit(sqlite3.SQLITE_LIMIT_SQL_LENGTH, 100_000)
        con.setlimit(sqlite3.SQLITE_LIMIT_EXPR_DEPTH, 100)
        con.setlimit(sqlite3.SQLITE_LIMIT_ATTACHED, 0)
        con.set_progress_handler(lambda: time.monotonic() > deadline, 1_000)
        con.execute("SELECT count(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as error:
        con.close()
        raise ParseError(f"corrupt GeoPackage: {error}") from error
    return con


def _stored_columns(con: sqlite3.Connection, table: str) -> list[str]:
    """The ordinary columns of an ordinary table (not a view, not a virtual
    table, no generated columns): what can be read without running code
    stored in the file."""
    row = con.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = ?",
                      (table,)).fetchone()
    if row is None or not isinstance(row[0], str) \
            or row[0].lstrip().upper().startswith("CREATE VIRTUAL"):
        raise ParseError(f"{table!r} is not an ordinary table")
    return [name for _cid, name, *_rest, hidden
            in con.execute(f"PRAGMA table_xinfo({_quote(table)})") if hidden == 0]


def _require_columns(con: sqlite3.Connection, table: str, needed: tuple[str, ...]) -> None:
    missing = set(needed) - set(_stored_columns(con, table))
    if missing:
        raise ParseError(f"{table} has no stored column(s) {', '.join(sorted(missing))}")


def _gpkg_srs(con: sqlite3.Connection, srs_id: int) -> str | None:
    row = con.execute(
        "SELECT organization, organization_coordsys_id, definition FROM gpkg_spatial_ref_sys "
        "WHERE srs_id = ?", (srs_id,)).fetchone()
    if row is None:
        raise ParseError(f"srs_id {srs_id} missing from gpkg_spatial_ref_sys")
    organization, code, definition = row
    if isinstance(organization, str) and organization.upper() == "EPSG" \
            and isinstance(code, int) and code > 0:
        return f"EPSG:{code}"
    if isinstance(definition, str) and definition.strip().lower() not in ("", "undefined"):
        try:
            return crs.normalize_crs(definition)
        except ValueError as error:
            raise ParseError(f"unreadable CRS definition for srs_id {srs_id}: {error}") from None
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


def read_geopackage(data: bytes, opts: BroadbandOptions, limits: ParseLimits = DEFAULT_LIMITS
                    ) -> tuple[GridCells, ParseResult]:
    """Read grid cells from a GeoPackage feature table.

    Each cell is validated like a row (range, speed-class order, reference
    date); invalid cells are skipped and reported. Geometry is reduced to
    the cell centroid, reprojected to WGS84."""
    con = _open_sqlite(data, limits)
    try:
        return _read_geopackage(con, opts, limits)
    except sqlite3.OperationalError as error:
        if str(error) == "interrupted":
            raise ParseError(f"reading the GeoPackage took more than {limits.geopackage_seconds:g}"
                             " s (ckanext.gelsenkirchen.harvest.geopackage_seconds)") from None
        raise ParseError(f"corrupt or unexpected GeoPackage: {error}") from error
    except sqlite3.DatabaseError as error:
        raise ParseError(f"corrupt or unexpected GeoPackage: {error}") from error
    finally:
        con.close()


def _read_geopackage(con: sqlite3.Connection, opts: BroadbandOptions,  # noqa: C901 - one pass over the cells
                     limits: ParseLimits) -> tuple[GridCells, ParseResult]:
    tables = {r[0] for r in con.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    missing = {"gpkg_contents", "gpkg_geometry_columns", "gpkg_spatial_ref_sys"} - tables
    if missing:
        raise ParseError(
            f"not a GeoPackage: table(s) {', '.join(sorted(missing))} missing")
    _require_columns(con, "gpkg_contents", ("table_name", "data_type"))
    _require_columns(con, "gpkg_geometry_columns", ("table_name", "column_name", "srs_id"))
    _require_columns(con, "gpkg_spatial_ref_sys",
                     ("srs_id", "organization", "organization_coordsys_id", "definition"))
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
    columns = _stored_columns(con, layer)
    selected = ", ".join(map(_quote, columns))
    cursor = con.execute(f"SELECT {selected} FROM {_quote(layer)}")  # noqa: S608 - quoted
    if geom_column not in columns:
        raise ParseError(f"geometry column {geom_column!r} missing from {layer!r}")
    mapper = Mapper(opts)
    targets = [mapper.target(c) if c != geom_column else None for c in columns]
    if not any(t and t.startswith(MEASURE_PREFIX) for t in targets):
        raise ParseError(
            f"layer {layer!r} has no down_fn_hh_<technology>_<Mbit/s> column; map the columns "
            "with 'fields' in the source configuration")
    if "ags" not in targets:
        raise ParseError(f"layer {layer!r} has no 'ags' column")
    geom_index = columns.index(geom_column)
    prop_columns = [(i, c) for i, c in enumerate(columns) if i != geom_index]
    sample = con.execute(f"SELECT {selected} FROM {_quote(layer)} LIMIT 1000")  # noqa: S608
    mapper.choose_decimal({c: row[i] for i, c in prop_columns} for row in sample)
    result = ParseResult()
    wkbs: list[bytes] = []
    records: list[AreaRecord] = []
    total = wkb_bytes = 0
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
        wkb_bytes += len(wkb)
        if wkb_bytes > 16 * limits.max_source_vertices:  # a WKB vertex: two 8-byte numbers
            raise ParseError(f"the geometries have more than {limits.max_source_vertices} "
                             "vertices in all (ckanext.gelsenkirchen.harvest.max_source_vertices)")
        wkbs.append(wkb)
        records.append(record)
    try:
        geoms = shapely.from_wkb(np.array(wkbs, dtype=object)) if wkbs else np.array([])
    except shapely.errors.GEOSException as error:
        raise ParseError(f"corrupt WKB geometry in layer {layer!r}: {error}") from error
    n = len(records)
    if n:
        centroids = shapely.get_coordinates(shapely.centroid(geoms))
        try:
            transformer = crs.transformer_to_wgs84(layer_crs)
        except ValueError as error:
            raise ParseError(f"layer {layer!r}: {error}") from None
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
    finish(result, mapper, deduplicate_records=False)
    return grid, result
