"""Readers of broadband sources that are GeoJSON (a file, or the pages of an
OGC API Features, WFS or ArcGIS source) or a table (CSV, XLSX): bytes or
decoded documents in, a :class:`~.scheme.ParseResult` of validated,
reprojected and repaired records out. Pure: no CKAN, no database, no
network.
"""
from __future__ import annotations

import io
from collections.abc import Iterable, Mapping
from typing import Any

import shapely
from shapely.geometry import shape
from shapely.validation import explain_validity, make_valid

from ckanext.gelsenkirchen.dataset_types import MEASURE_PREFIX
from ckanext.gelsenkirchen.harvesters.report import Skipped
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs
from ckanext.gelsenkirchen.harvesters.source.jsondoc import (
    feature_collection,
    feature_id,
    load_json,
)
from ckanext.gelsenkirchen.harvesters.source.text import read_csv

from .options import BroadbandOptions
from .scheme import Mapper, ParseResult, build_record, finish, raw_id


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


def features_to_result(features: Iterable[Mapping[str, Any]], opts: BroadbandOptions,
                       mapper: Mapper, source_crs: str | None = None,
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
                raw_id(props, mapper), feature.get("id"))))
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
    mapper = Mapper(opts)
    mapper.choose_decimal(_properties(f for features, _crs in pages for f in features))
    result = ParseResult()
    offset = 0
    for features, page_crs in pages:
        result.extend(features_to_result(features, opts, mapper, page_crs, offset))
        offset += len(features)
    result.stats["pages"] = len(pages)
    finish(result, mapper)
    return result


def _rows_to_result(header: list[Any], rows: list[tuple[int, list[Any]]],
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
