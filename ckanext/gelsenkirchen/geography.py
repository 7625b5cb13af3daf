"""Gelsenkirchen's geography, in one place.

* **The city**: :data:`CITY_AGS` (Amtlicher Gemeindeschlüssel), :data:`CITY_NAME`,
  :data:`CITY_BBOX` (lon/lat, WGS 84).
* **Its areas**: :data:`AREAS`, the codes the ``spatial_coverage`` field
  stores: ``gesamtstadt`` (the whole city), ``bezirk-<name>`` (the 5
  Stadtbezirke) and ``stadtteil-<name>`` (the 18 Stadtteile, each in its
  Stadtbezirk).
* **Their boundaries**: read from the GeoJSON file named by the one option
  :data:`BOUNDARIES_FILE_OPTION` (a path, or ``package:relative/path``).
  The rule for its features: the property ``code`` names the area (a code of
  :data:`AREAS`; features with another or no code are ignored); the level,
  the name and the Stadtbezirk of a Stadtteil come from :data:`AREAS`. The
  file is WGS 84 (RFC 7946) unless a legacy ``crs`` member names another
  CRS, which is then reprojected. It is approximate when its
  ``properties.approximate`` or any feature's is true. **Without a file**
  there are no boundaries: every area is represented by the city's bounding
  box (:func:`geometry_for`), points are not assigned to areas, and a grid
  that must be aggregated to Stadtteile cannot be harvested. There is no
  fallback to the file shipped in ``data/boundaries-approximate.geojson``,
  which holds rough, APPROXIMATE polygons for demos and tests only.
* **Point lookup**: :meth:`Boundaries.lookup_many`.
* **Boxes**: :func:`parse_bbox`, :func:`expand_bbox`, :func:`in_bbox`,
  :func:`spatial_geojson` and the area harvesters accept,
  :func:`accepted_area`.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib.resources
import json
import logging
import math
import os
import unicodedata
from collections.abc import Sequence
from typing import Any, NamedTuple

log = logging.getLogger(__name__)

BOUNDARIES_FILE_OPTION = "ckanext.gelsenkirchen.boundaries_file"

#: Amtlicher Gemeindeschlüssel (AGS) of Gelsenkirchen.
CITY_AGS = "05513000"
CITY_NAME = "Gelsenkirchen"
#: Gelsenkirchen's bounding box (lon/lat, WGS 84): west, south, east, north.
CITY_BBOX = (6.98, 51.47, 7.17, 51.64)

CITY = "gesamtstadt"
LEVELS = ("stadt", "stadtbezirk", "stadtteil")


# ---------------------------------------------------------------- the areas

class Area(NamedTuple):
    code: str
    level: str           # "stadt", "stadtbezirk" or "stadtteil"
    de: str
    en: str
    parent: str | None   # the Stadtbezirk code of a Stadtteil
    name: str = ""       # the plain name: "Altstadt", "Mitte"

    def label(self, lang: str) -> str:
        return self.en if lang == "en" else self.de


_DISTRICTS: list[tuple[str, str, str, list[str]]] = [
    ("mitte", "Mitte", "Centre (Mitte)",
     ["Altstadt", "Bismarck", "Bulmke-Hüllen", "Feldmark", "Heßler", "Schalke", "Schalke-Nord"]),
    ("nord", "Nord", "North (Nord)", ["Buer", "Hassel", "Scholven"]),
    ("west", "West", "West", ["Horst", "Beckhausen"]),
    ("ost", "Ost", "East (Ost)", ["Erle", "Resse", "Resser Mark"]),
    ("sued", "Süd", "South (Süd)", ["Neustadt", "Ückendorf", "Rotthausen"]),
]


def slug(name: str) -> str:
    table = str.maketrans({"ä": "ae", "ö": "oe", "ü": "ue", "ß": "ss", " ": "-",
                           "Ä": "ae", "Ö": "oe", "Ü": "ue"})
    return name.strip().translate(table).lower()


def _build_areas() -> dict[str, Area]:
    areas = {CITY: Area(CITY, "stadt", "Gesamtstadt Gelsenkirchen",
                        "Whole city of Gelsenkirchen", None, CITY_NAME)}
    for code, de, en, _parts in _DISTRICTS:
        areas[f"bezirk-{code}"] = Area(f"bezirk-{code}", "stadtbezirk",
                                       f"Stadtbezirk {de}", f"District {en}", None, de)
    for code, _de, _en, parts in _DISTRICTS:
        for part in parts:
            areas[f"stadtteil-{slug(part)}"] = Area(
                f"stadtteil-{slug(part)}", "stadtteil", f"Stadtteil {part}",
                f"Quarter {part}", f"bezirk-{code}", part)
    return areas


AREAS: dict[str, Area] = _build_areas()


def normalize_codes(codes: list[str]) -> list[str]:
    """Unique codes in vocabulary order; the whole city absorbs the rest."""
    wanted = set(codes)
    if CITY in wanted:
        return [CITY]
    return [code for code in AREAS if code in wanted]


def describe(codes: list[str], lang: str = "de") -> str:
    """A human-readable description, e.g. for dcatde:geocodingDescription."""
    codes = normalize_codes(codes)
    if not codes or codes == [CITY]:
        return AREAS[CITY].label(lang)
    return "Gelsenkirchen: " + ", ".join(AREAS[c].label(lang) for c in codes)


def facet_codes(codes: list[str]) -> list[str]:
    """Codes indexed for the area facet: the selection plus the Stadtbezirk
    of every selected Stadtteil."""
    out: list[str] = []
    for code in normalize_codes(codes):
        for c in (code, AREAS[code].parent):
            if c and c not in out:
                out.append(c)
    return out


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower().strip()


def stadtteil_code(name: str) -> str | None:
    """The code of a Stadtteil named ``name`` (``Heßler``, ``Hessler``,
    ``stadtteil-hessler``), None for anything else."""
    code = name if name in AREAS else f"stadtteil-{slug(name)}"
    if code not in AREAS:
        wanted = _fold(name)
        code = next((c for c, a in AREAS.items() if _fold(a.name) == wanted), "")
    area = AREAS.get(code)
    return code if area is not None and area.level == "stadtteil" else None


def bezirk_of(stadtteil: str) -> str:
    """The name of the Stadtbezirk of the Stadtteil named ``stadtteil``."""
    code = stadtteil_code(stadtteil)
    parent = AREAS[code].parent if code else None
    return AREAS[parent].name if parent else ""


# ---------------------------------------------------------------- boundaries

@dataclasses.dataclass(frozen=True)
class Boundary:
    code: str
    name: str
    level: str
    geometry: Any  # shapely, WGS 84


class Boundaries:
    """The areas of a boundaries file (see the module docstring)."""

    def __init__(self, boundaries: Sequence[Boundary] = (), approximate: bool = False,
                 source: str | None = None):
        self.boundaries = list(boundaries)
        self.approximate = approximate
        self.source = source

    @classmethod
    def from_geojson(cls, doc: dict[str, Any], source: str | None = None) -> Boundaries:
        from shapely.geometry import shape
        from shapely.validation import make_valid

        from ckanext.gelsenkirchen.harvesters.source import crs as source_crs

        doc_crs = source_crs.geojson_crs(doc)
        approximate = bool((doc.get("properties") or {}).get("approximate"))
        found = []
        for feature in doc.get("features") or []:
            props = feature.get("properties") or {}
            area = AREAS.get(str(props.get("code") or ""))
            if area is None or not feature.get("geometry"):
                continue
            geometry = source_crs.reproject(shape(feature["geometry"]), doc_crs)
            if not geometry.is_valid:
                geometry = make_valid(geometry)
            found.append(Boundary(area.code, area.name, area.level, geometry))
            approximate = approximate or bool(props.get("approximate"))
        return cls(found, approximate, source)

    @property
    def empty(self) -> bool:
        return not self.boundaries

    @property
    def geometries(self) -> dict[str, dict[str, Any]]:
        """Area code -> GeoJSON geometry."""
        from shapely.geometry import mapping

        return {b.code: json.loads(json.dumps(mapping(b.geometry))) for b in self.boundaries}

    def of_level(self, level: str) -> list[Boundary]:
        return [b for b in self.boundaries if b.level == level]

    @functools.cached_property
    def bbox(self) -> tuple[float, float, float, float] | None:
        """The extent of the areas, None without any."""
        bounds = [b.geometry.bounds for b in self.boundaries]
        if not bounds:
            return None
        return (min(b[0] for b in bounds), min(b[1] for b in bounds),
                max(b[2] for b in bounds), max(b[3] for b in bounds))

    @functools.cached_property
    def _trees(self) -> list[tuple[Any, list[Boundary]]]:
        from shapely import STRtree

        out = []
        for level in ("stadtteil", "stadtbezirk"):
            found = self.of_level(level)
            if found:
                out.append((STRtree([b.geometry for b in found]), found))
        return out

    def lookup_many(self, points: Sequence[tuple[float, float]]) -> list[tuple[str, str]]:
        """(Stadtteil name, Stadtbezirk name) of each lon/lat point: the
        Stadtteil whose polygon contains it and its Stadtbezirk (from
        :data:`AREAS`); only the Stadtbezirk where the file has no
        Stadtteile; empty strings outside every area."""
        import shapely

        result = [("", "")] * len(points)
        if not points or not self._trees:
            return result
        tree, found = self._trees[0]
        geoms = shapely.points([p[0] for p in points], [p[1] for p in points])
        point_idx, tree_idx = tree.query(geoms, predicate="intersects")
        for p, t in zip(point_idx.tolist(), tree_idx.tolist(), strict=True):
            if result[p] == ("", ""):
                area = AREAS[found[t].code]
                parent = AREAS[area.parent].name if area.parent else area.name
                result[p] = (area.name if area.level == "stadtteil" else "", parent)
        return result

    def lookup(self, lon: float, lat: float) -> tuple[str, str]:
        return self.lookup_many([(lon, lat)])[0]


def resolve_path(value: str) -> str | None:
    """A file path, ``file://`` URL or ``package.module:relative/path``."""
    value = value.strip().removeprefix("file://")
    if not value:
        return None
    if ":" in value and not os.path.isabs(value) and not os.path.exists(value):
        module, _, relative = value.partition(":")
        try:
            base = importlib.resources.files(module)
        except ModuleNotFoundError:
            return None
        return os.path.abspath(os.path.join(str(base), relative))
    return os.path.abspath(value)


@functools.lru_cache(maxsize=4)
def _load(path: str, mtime: float) -> Boundaries:
    with open(path, encoding="utf-8") as handle:
        return Boundaries.from_geojson(json.load(handle), path)


def load_boundaries(value: str | None) -> Boundaries:
    """The boundaries of the file ``value`` names (cached until the file
    changes); empty for no file, and for a file that cannot be read (logged)."""
    path = resolve_path(value or "")
    if not path:
        return Boundaries()
    try:
        return _load(path, os.path.getmtime(path))
    except (OSError, ValueError) as error:
        log.error("Cannot read the boundaries file %s: %s; no boundaries", path, error)
        return Boundaries()


def boundaries() -> Boundaries:
    """The boundaries of the site's :data:`BOUNDARIES_FILE_OPTION`."""
    import ckan.plugins.toolkit as tk

    return load_boundaries(tk.config.get(BOUNDARIES_FILE_OPTION))


def bbox_geometry(bbox: Sequence[float] = CITY_BBOX) -> dict[str, Any]:
    w, s, e, n = bbox
    return {"type": "Polygon",
            "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def geometry_for(codes: list[str]) -> dict[str, Any]:
    """The GeoJSON geometry covering the given areas (a union, simplified);
    the city's bounding box where the boundaries lack an area."""
    from shapely.geometry import mapping
    from shapely.ops import unary_union

    codes = normalize_codes(codes) or [CITY]
    shapes = {b.code: b.geometry for b in boundaries().boundaries}
    if not shapes:
        return bbox_geometry()
    found = []
    for code in codes:
        if code in shapes:
            found.append(shapes[code])
            continue
        # an area without its own feature: union of its parts, else the bbox
        parts = [g for c, g in shapes.items() if code == CITY or AREAS[c].parent == code]
        if not parts:
            return bbox_geometry()
        found.extend(parts)
    union = unary_union(found).simplify(0.0005, preserve_topology=True)
    return json.loads(json.dumps(mapping(union)))


# ---------------------------------------------------------------- boxes

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
    except (TypeError, ValueError, OverflowError):  # OverflowError: a 400-digit integer
        raise ValueError("a bbox needs four numbers: minlon,minlat,maxlon,maxlat") from None
    if not all(math.isfinite(v) for v in (minx, miny, maxx, maxy)):
        raise ValueError("a bbox needs four finite numbers: minlon,minlat,maxlon,maxlat")
    if not (minx < maxx and miny < maxy):
        raise ValueError("a bbox needs minlon < maxlon and minlat < maxlat")
    return (minx, miny, maxx, maxy)


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
    """A dataset's spatial extent as GeoJSON (a Polygon of the bbox; a
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


def accepted_area(bbox: Any = None) -> tuple[float, float, float, float]:
    """The lon/lat area whose points harvesters accept: ``bbox`` (a source's
    own), else ``ckanext.gelsenkirchen.harvest.city_bbox``, else the extent
    of the boundaries, else :data:`CITY_BBOX`; grown by
    ``ckanext.gelsenkirchen.harvest.bbox_margin_m``."""
    import ckan.plugins.toolkit as tk

    raw = bbox or tk.config.get("ckanext.gelsenkirchen.harvest.city_bbox")
    area = parse_bbox(raw) if raw else (boundaries().bbox or CITY_BBOX)
    margin = float(tk.config.get("ckanext.gelsenkirchen.harvest.bbox_margin_m") or 0)
    return expand_bbox(area, margin)
