"""Coordinates for harvesters: the city's bounding box and Stadtteil/
Stadtbezirk lookup by point in polygon (reprojection: source/crs.py).

Pure functions apart from :func:`boundaries_from_config` and
:func:`city_bbox_from_config`, which read CKAN's config.
"""
from __future__ import annotations

import functools
import json
import math
import os
import unicodedata
from collections.abc import Sequence
from typing import Any

# Approximate outline of Gelsenkirchen (lon/lat) when no boundaries file is
# configured: 6.98-7.15 E, 51.48-51.64 N.
DEFAULT_CITY_BBOX = (6.975, 51.475, 7.155, 51.640)


def expand_bbox(bbox: Sequence[float], margin_m: float) -> tuple[float, float, float, float]:
    """Grow a lon/lat bbox by ``margin_m`` metres on every side."""
    minx, miny, maxx, maxy = bbox
    dlat = margin_m / 111_320.0
    dlon = margin_m / (111_320.0 * math.cos(math.radians((miny + maxy) / 2)))
    return (minx - dlon, miny - dlat, maxx + dlon, maxy + dlat)


def in_bbox(lon: float, lat: float, bbox: Sequence[float]) -> bool:
    return bbox[0] <= lon <= bbox[2] and bbox[1] <= lat <= bbox[3]


def bbox_of(points: Sequence[tuple[float, float]]) -> tuple[float, float, float, float] | None:
    if not points:
        return None
    lons = [p[0] for p in points]
    lats = [p[1] for p in points]
    return (min(lons), min(lats), max(lons), max(lats))


def spatial_geojson(points: Sequence[tuple[float, float]]) -> str | None:
    """The dataset's spatial extent as GeoJSON (a Polygon of the bbox; a
    Point when all points coincide), as ckanext-spatial expects it."""
    bbox = bbox_of(points)
    if bbox is None:
        return None
    minx, miny, maxx, maxy = (round(v, 6) for v in bbox)
    if minx == maxx and miny == maxy:
        return json.dumps({"type": "Point", "coordinates": [minx, miny]})
    if minx == maxx or miny == maxy:  # a degenerate box: pad it a little
        minx, miny, maxx, maxy = minx - 0.0005, miny - 0.0005, maxx + 0.0005, maxy + 0.0005
    ring = [[minx, miny], [maxx, miny], [maxx, maxy], [minx, maxy], [minx, miny]]
    return json.dumps({"type": "Polygon", "coordinates": [ring]})


def _key(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()


class Boundaries:
    """Stadtteile (with their Stadtbezirk) for point-in-polygon lookup.

    Reads a GeoJSON FeatureCollection in lon/lat. A feature is a Stadtteil or
    a Stadtbezirk by its ``level``/``type``/``ebene``/``kind`` property;
    names come from ``name``; a Stadtteil's Stadtbezirk from its
    ``stadtbezirk``/``bezirk`` property or, failing that, from the
    Stadtbezirk polygon that contains it.
    """

    def __init__(self, geojson: dict[str, Any]):
        from shapely import STRtree
        from shapely.geometry import shape

        self.stadtteile: list[tuple[Any, str, str]] = []
        bezirke: list[tuple[Any, str]] = []
        codes: dict[str, str] = {}
        parents: list[str] = []
        for feature in geojson.get("features") or []:
            props = {(_key(k)): v for k, v in (feature.get("properties") or {}).items()}
            try:
                geom = shape(feature["geometry"])
            except Exception:  # noqa: BLE001 - a broken polygon is ignored
                continue
            level = _key(str(props.get("level") or props.get("type") or props.get("ebene")
                              or props.get("kind") or props.get("art") or ""))
            name = str(props.get("name") or props.get("stadtteil") or props.get("bezeichnung") or "")
            if "bezirk" in level:
                bezirk_name = str(props.get("name") or props.get("stadtbezirk") or "")
                bezirke.append((geom, bezirk_name))
                if props.get("code"):
                    codes[str(props["code"])] = bezirk_name
            elif "teil" in level or not level:
                bezirk = str(props.get("stadtbezirk") or props.get("bezirk") or "")
                self.stadtteile.append((geom, name, bezirk))
                parents.append(str(props.get("parent") or ""))
        if bezirke:
            filled = []
            for (geom, name, bezirk), parent in zip(self.stadtteile, parents, strict=True):
                bezirk = bezirk or codes.get(parent, "")
                if not bezirk:
                    centre = geom.representative_point()
                    bezirk = next((b for g, b in bezirke if g.contains(centre)), "")
                filled.append((geom, name, bezirk))
            self.stadtteile = filled
        self._bezirke = bezirke
        self._tree = STRtree([g for g, _, _ in self.stadtteile]) if self.stadtteile else None
        self._bezirk_tree = STRtree([g for g, _ in bezirke]) if bezirke else None
        shapes = [g for g, _, _ in self.stadtteile] or [g for g, _ in bezirke]
        if shapes:
            bounds = [s.bounds for s in shapes]
            self.bbox: tuple[float, float, float, float] | None = (
                min(b[0] for b in bounds), min(b[1] for b in bounds),
                max(b[2] for b in bounds), max(b[3] for b in bounds))
        else:
            self.bbox = None

    def lookup_many(self, points: Sequence[tuple[float, float]]) -> list[tuple[str, str]]:
        """(stadtteil, stadtbezirk) for each lon/lat point; empty strings when outside."""
        import shapely

        result = [("", "")] * len(points)
        if not points:
            return result
        geoms = shapely.points([p[0] for p in points], [p[1] for p in points])
        if self._tree is not None:
            point_idx, tree_idx = self._tree.query(geoms, predicate="intersects")
            for p, t in zip(point_idx.tolist(), tree_idx.tolist(), strict=True):
                if result[p] == ("", ""):
                    _, name, bezirk = self.stadtteile[t]
                    result[p] = (name, bezirk)
        elif self._bezirk_tree is not None:
            point_idx, tree_idx = self._bezirk_tree.query(geoms, predicate="intersects")
            for p, t in zip(point_idx.tolist(), tree_idx.tolist(), strict=True):
                if result[p] == ("", ""):
                    result[p] = ("", self._bezirke[t][1])
        return result

    def lookup(self, lon: float, lat: float) -> tuple[str, str]:
        return self.lookup_many([(lon, lat)])[0]

    def bezirk_of(self, stadtteil: str) -> str:
        wanted = _key(stadtteil).strip()
        for _, name, bezirk in self.stadtteile:
            if _key(name).strip() == wanted:
                return bezirk
        return ""


@functools.lru_cache(maxsize=4)
def _load_boundaries(path: str, mtime: float) -> Boundaries | None:
    with open(path, encoding="utf-8") as handle:
        return Boundaries(json.load(handle))


def boundaries_from_config() -> Boundaries | None:
    """The boundaries of ``ckanext.gelsenkirchen.boundaries_file`` (cached)."""
    import ckan.plugins.toolkit as tk

    path = resolve_path(tk.config.get("ckanext.gelsenkirchen.boundaries_file") or "")
    if not path:
        return None
    try:
        return _load_boundaries(path, os.path.getmtime(path))
    except (OSError, ValueError):
        return None


def resolve_path(value: str) -> str | None:
    """A file path, or ``package.module:relative/path`` inside a package."""
    value = value.strip()
    if not value:
        return None
    if ":" in value and not os.path.exists(value):
        import importlib

        module_name, _, relative = value.partition(":")
        try:
            module = importlib.import_module(module_name)
        except ImportError:
            return None
        base = os.path.dirname(module.__file__ or "")
        return os.path.abspath(os.path.join(base, relative))
    return os.path.abspath(value)


def city_bbox_from_config() -> tuple[float, float, float, float]:
    """The accepted lon/lat area: ``ckanext.gelsenkirchen.harvest.city_bbox``
    (or the boundaries file's extent, or the built-in box) grown by
    ``ckanext.gelsenkirchen.harvest.bbox_margin_m``."""
    import ckan.plugins.toolkit as tk

    raw = tk.config.get("ckanext.gelsenkirchen.harvest.city_bbox")
    bbox: Sequence[float] | None = None
    if raw:
        bbox = parse_bbox(raw)
    if bbox is None:
        boundaries = boundaries_from_config()
        bbox = boundaries.bbox if boundaries and boundaries.bbox else DEFAULT_CITY_BBOX
    margin = float(tk.config.get("ckanext.gelsenkirchen.harvest.bbox_margin_m") or 0)
    return expand_bbox(bbox, margin)


def parse_bbox(value: Any) -> tuple[float, float, float, float]:
    """``"minlon,minlat,maxlon,maxlat"`` or a list of four numbers."""
    if isinstance(value, str):
        parts: list[Any] = [p for p in value.replace(";", ",").split(",") if p.strip()]
    else:
        parts = list(value)
    if len(parts) != 4:
        raise ValueError("a bbox needs four numbers: minlon,minlat,maxlon,maxlat")
    try:
        minx, miny, maxx, maxy = (float(p) for p in parts)
    except (TypeError, ValueError):
        raise ValueError("a bbox needs four numbers: minlon,minlat,maxlon,maxlat") from None
    if not (minx < maxx and miny < maxy):
        raise ValueError("a bbox needs minlon < maxlon and minlat < maxlat")
    return (minx, miny, maxx, maxy)
