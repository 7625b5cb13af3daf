"""Readers of broadband sources that are GeoJSON (a file, or the pages of an
OGC API Features, WFS or ArcGIS source) or a table (CSV, XLSX): bytes or
decoded documents in, a :class:`~.scheme.ParseResult` of validated,
reprojected and repaired records out. Pure: no CKAN, no database, no
network.
"""
from __future__ import annotations

import io
import itertools
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity

from ckanext.gelsenkirchen.dataset_types import MEASURE_PREFIX
from ckanext.gelsenkirchen.harvesters.report import Skipped
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs
from ckanext.gelsenkirchen.harvesters.source.jsondoc import (
    feature_collection,
    feature_id,
    load_json,
)
from ckanext.gelsenkirchen.harvesters.source.limits import DEFAULT as DEFAULT_LIMITS
from ckanext.gelsenkirchen.harvesters.source.limits import ParseLimits
from ckanext.gelsenkirchen.harvesters.source.text import read_csv, shown

from .options import BroadbandOptions
from .scheme import Mapper, ParseResult, build_record, finish, raw_id


class GeometryBudget:
    """The vertices one source may bring (per feature, in all) and the size
    of a polygon repair, checked before any geometry work (limits.py)."""

    def __init__(self, limits: ParseLimits) -> None:
        self.limits = limits
        self.vertices = 0

    def take(self, geom: Any) -> None:
        """Count a feature's vertices: ValueError (the feature is skipped)
        above the limit per feature, ParseError (the source fails) when the
        source's vertices in all exceed theirs."""
        count = int(shapely.get_num_coordinates(geom))
        if count > self.limits.max_feature_vertices:
            raise ValueError(f"geometry with {count} vertices (more than "
                             f"{self.limits.max_feature_vertices}: "
                             "ckanext.gelsenkirchen.harvest.max_feature_vertices)")
        self.vertices += count
        if self.vertices > self.limits.max_source_vertices:
            raise ParseError(f"the geometries have more than {self.limits.max_source_vertices} "
                             "vertices in all (ckanext.gelsenkirchen.harvest.max_source_vertices)")

    def check_repair(self, geom: Any) -> None:
        """ValueError when repairing ``geom`` could take too long: the pairs
        of its segments with overlapping bounding boxes bound the crossings
        make_valid must node (quadratic in the vertices for a "star");
        counted in batches so that counting itself stays within the limit."""
        limit = self.limits.max_repair_pairs
        pairs = 0
        for part in getattr(geom, "geoms", [geom]):
            for ring in (part.exterior, *part.interiors):
                coords = shapely.get_coordinates(ring)
                segments = shapely.linestrings(np.stack([coords[:-1], coords[1:]], axis=1))
                tree = shapely.STRtree(segments)
                for start in range(0, len(segments), 256):
                    pairs += tree.query(segments[start:start + 256]).shape[1]
                    if pairs > limit:
                        raise ValueError(
                            f"invalid polygon too complex to repair ({len(coords) - 1} vertices "
                            f"per ring, more than {limit} segment pairs to check: "
                            "ckanext.gelsenkirchen.harvest.max_repair_pairs)")


def repair(geometry: Any, label: str, notes: list[str],
           budget: GeometryBudget | None = None) -> Any:
    """Repair an invalid polygon with make_valid, noting it for the report;
    ValueError when it is too complex to repair (``budget``)."""
    if geometry is None or geometry.is_empty or geometry.is_valid:
        return geometry
    reason = explain_validity(geometry)
    if budget is not None and geometry.geom_type in ("Polygon", "MultiPolygon"):
        budget.check_repair(geometry)
    # "structure" keeps the cost near linear in the crossings ("linework"
    # took seconds for a 100-vertex star) and gives areas, not lines
    fixed = shapely.make_valid(geometry, method="structure", keep_collapsed=False)
    if fixed.geom_type == "GeometryCollection":
        polygons = [g for g in fixed.geoms if g.geom_type in ("Polygon", "MultiPolygon")]
        fixed = shapely.union_all(polygons) if polygons else fixed
    notes.append(f"{label}: invalid polygon repaired ({reason})")
    return fixed


def area_geometry(geometry: Any, geometry_crs: str | None, label: str, notes: list[str],
                  budget: GeometryBudget) -> Any:
    """A feature's GeoJSON geometry as a repaired shapely geometry in WGS 84;
    ValueError with the reason for the job report when it cannot be one
    (shapely and GEOS raise many types, for malformed input, coordinates
    beyond a float's range, topology errors)."""
    try:
        geom = shape(geometry)
    except Exception as error:  # noqa: BLE001 - shapely raises many types
        raise ValueError(f"unreadable geometry: {shown(str(error), 200)}") from None
    budget.take(geom)
    if not np.isfinite(shapely.get_coordinates(geom)).all():
        raise ValueError("unreadable geometry: a coordinate is not a finite number")
    try:
        return repair(crs.reproject(geom, geometry_crs), label, notes, budget)
    except shapely.errors.GEOSException as error:
        raise ValueError(f"geometry error: {shown(str(error), 200)}") from None


def features_to_result(features: Iterable[Mapping[str, Any]], opts: BroadbandOptions,
                       mapper: Mapper, source_crs: str | None = None,
                       start_index: int = 0, budget: GeometryBudget | None = None) -> ParseResult:
    """GeoJSON features to validated, reprojected, repaired records; the
    configured CRS wins over the one the document names."""
    result = ParseResult()
    budget = budget or GeometryBudget(DEFAULT_LIMITS)
    geometry_crs = opts.crs or source_crs
    try:
        crs.transformer_to_wgs84(geometry_crs)
    except ValueError as error:
        raise ParseError(str(error)) from None
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
                raw_id(props, mapper), feature.get("id"))))
            continue
        geometry = feature.get("geometry")
        if geometry:
            try:
                record.geometry = area_geometry(geometry, geometry_crs,
                                                f"area {record.area_id}", result.notes, budget)
            except ParseError:  # the source as a whole (its vertices in all)
                raise
            except ValueError as error:
                result.skipped.append(Skipped(str(error), row=index, feature_id=record.area_id))
                continue
        result.records.append(record)
    result.stats["features"] = count
    return result


def _properties(features: Iterable[Any]) -> Iterable[Mapping[str, Any]]:
    for feature in features:
        if isinstance(feature, Mapping) and isinstance(feature.get("properties"), Mapping):
            yield feature["properties"]


def read_geojson(data: bytes | str | Mapping, opts: BroadbandOptions,
                 limits: ParseLimits = DEFAULT_LIMITS) -> ParseResult:
    """A GeoJSON FeatureCollection."""
    return collect_pages([data if isinstance(data, Mapping) else load_json(data)], opts, limits)


def collect_pages(docs: Iterable[Mapping[str, Any]], opts: BroadbandOptions,
                  limits: ParseLimits = DEFAULT_LIMITS) -> ParseResult:
    """Records from the GeoJSON FeatureCollections of a source (one for a
    file, one per page of a paged source)."""
    pages = [feature_collection(doc) for doc in docs]
    mapper = Mapper(opts)
    mapper.choose_decimal(_properties(f for features, _crs in pages for f in features))
    result = ParseResult()
    offset = 0
    budget = GeometryBudget(limits)  # one for all pages: the source's vertices in all
    for features, page_crs in pages:
        result.extend(features_to_result(features, opts, mapper, page_crs, offset, budget))
        offset += len(features)
    result.stats["pages"] = len(pages)
    finish(result, mapper)
    return result


def _rows_to_result(header: list[Any], rows: Iterable[tuple[int, list[Any]]],
                    opts: BroadbandOptions) -> ParseResult:
    """Records of table rows ``(line number, values)`` under ``header``."""
    names = [str(h).strip() if h is not None else "" for h in header]
    if not any(names):
        raise ParseError("table has no header row")
    mapper = Mapper(opts)
    if not any((target := mapper.target(n)) and target.startswith(MEASURE_PREFIX)
               for n in names):
        raise ParseError(
            "table has no down_fn_hh_<technology>_<Mbit/s> column; map the columns with "
            "'fields' in the source configuration")
    rows = ((line, values) for line, values in rows
            if any(v not in (None, "") for v in values))
    head = list(itertools.islice(rows, 1000))  # the rows the decimal rule is detected from
    mapper.choose_decimal(dict(zip(names, values, strict=False)) for _line, values in head)
    result = ParseResult()
    count = 0
    for line, values in itertools.chain(head, rows):
        count += 1
        props = {name: value for name, value in zip(names, values, strict=False) if name}
        record, reason = build_record(props, mapper, line)
        if record is None:
            result.skipped.append(Skipped(reason or "invalid", row=line,
                                          feature_id=raw_id(props, mapper)))
        else:
            result.records.append(record)
    result.stats["rows"] = count
    finish(result, mapper)
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


def check_xlsx_size(data: bytes, limits: ParseLimits) -> None:
    """Refuse a workbook whose ZIP members unpack to more than the limit, or
    pack better than any real workbook, from the sizes in the ZIP directory,
    before anything is unpacked (zipfile stops reading a member at its
    declared size, so a directory that lies cannot unpack more)."""
    import zipfile

    try:
        members = zipfile.ZipFile(io.BytesIO(data)).infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise ParseError(f"not a readable XLSX workbook: {error}") from None
    unpacked = sum(member.file_size for member in members)
    if unpacked > limits.xlsx_max_unpacked_bytes:
        raise ParseError(f"the workbook unpacks to {unpacked} bytes, more than "
                         f"{limits.xlsx_max_unpacked_bytes} "
                         "(ckanext.gelsenkirchen.harvest.xlsx_max_unpacked_bytes)")
    for member in members:
        if member.file_size > 1_000_000 \
                and member.file_size > limits.xlsx_max_ratio * max(member.compress_size, 1):
            raise ParseError(f"the workbook member {shown(member.filename)} unpacks "
                             f"{member.file_size // max(member.compress_size, 1)} times its "
                             f"packed size, more than {limits.xlsx_max_ratio} "
                             "(ckanext.gelsenkirchen.harvest.xlsx_max_ratio)")


def read_xlsx(data: bytes, opts: BroadbandOptions,
              limits: ParseLimits = DEFAULT_LIMITS) -> ParseResult:
    """The first (or the configured) worksheet, its rows streamed."""
    import zipfile

    from openpyxl import load_workbook
    check_xlsx_size(data, limits)
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
        return _rows_to_result(list(header), enumerate(map(list, rows), start=2), opts)
    finally:
        workbook.close()
