"""The files every harvested dataset publishes: CSV and GeoJSON of its rows.

Text from sources is data and is written verbatim, with one exception for
the CSV: a cell a spreadsheet would run as a formula gets a leading
apostrophe (CSV injection), see :func:`csv_cell`.
"""
from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Sequence
from typing import Any

# A spreadsheet runs a cell starting with one of these as a formula
# (CSV injection); signed numbers and phone numbers stay as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_LIKE = re.compile(r"[+-]?[\d\s.,/()+-]*")


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV download: text that a spreadsheet would run as a
    formula gets a leading apostrophe, which spreadsheets show as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) \
            and not _NUMBER_LIKE.fullmatch(value):
        return "'" + value
    return value


def rows_to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """The rows as UTF-8 CSV with a header; text verbatim except that
    formula-like cells are neutralised (csv_cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else csv_cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def rows_to_geojson(rows: Sequence[dict[str, Any]], columns: Sequence[str],
                    lon: str = "longitude", lat: str = "latitude") -> bytes:
    """The rows as a GeoJSON FeatureCollection of points (RFC 7946)."""
    features = []
    for row in rows:
        geometry = None
        if row.get(lon) is not None and row.get(lat) is not None:
            geometry = {"type": "Point", "coordinates": [row[lon], row[lat]]}
        features.append({"type": "Feature", "id": row.get("id"), "geometry": geometry,
                         "properties": {c: row.get(c) for c in columns}})
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")
