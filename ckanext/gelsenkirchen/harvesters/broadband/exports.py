"""The files of a broadband dataset: the CSV of every row, the GeoJSON map of
the areas at the latest reference date, and the areas' extent.
"""
from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ckanext.gelsenkirchen import dataset_types
from ckanext.gelsenkirchen.harvesters.exports import rows_to_csv

from .history import latest_date

#: The columns of the CSV file, in table order.
COLUMNS = [c["id"] for c in dataset_types.BROADBAND_COLUMNS]


def rows_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """All rows, with the columns some row uses."""
    used = {k for r in rows for k in r}
    return rows_to_csv(rows, [c for c in COLUMNS if c in used and c != "id"])


def rows_geojson(rows: Sequence[dict[str, Any]], geometries: dict[str, Any],
                 attribution: str) -> bytes:
    """The areas at the latest reference date with their polygons."""
    latest = latest_date(rows)
    features = []
    for row in rows:
        if row["reference_date"] != latest:
            continue
        geometry = geometries.get(str(row["area_id"]))
        if geometry is None:
            continue
        features.append({"type": "Feature", "id": row["area_id"], "geometry": geometry,
                         "properties": {k: v for k, v in row.items()
                                        if k in dataset_types.BROADBAND_MAP_COLUMNS}})
    return json.dumps({"type": "FeatureCollection", "name": "breitbandversorgung",
                       "attribution": attribution, "reference_date": latest,
                       "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def geometries_json(geometries: dict[str, Any]) -> dict[str, Any]:
    """Polygons as GeoJSON geometries, coordinates rounded to 6 decimals
    (about 10 cm)."""
    import numpy as np
    import shapely

    if not geometries:
        return {}
    keys = list(geometries)
    rounded = shapely.transform(np.array([geometries[k] for k in keys], dtype=object),
                                lambda xy: np.round(xy, 6))
    texts = shapely.to_geojson(rounded)
    return {key: json.loads(text) for key, text in zip(keys, texts, strict=True)}


def extent(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], int | float):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for part in coords or []:
                walk(part)
    walk(geometry.get("coordinates"))
    if not xs:
        raise ValueError("empty geometry")
    return min(xs), min(ys), max(xs), max(ys)
