"""Stadtbezirke and Stadtteile of Gelsenkirchen and their geometries.

The area codes are what the ``spatial_coverage`` field stores:
``gesamtstadt`` (the whole city), ``bezirk-<name>`` (one of the 5
Stadtbezirke) and ``stadtteil-<name>`` (one of the 18 Stadtteile).

Geometries come from the GeoJSON file named by the config option
``ckanext.gelsenkirchen.boundaries_file`` (a path, or
``package.module:relative/path``).  Each feature needs the properties
``code`` (an area code as above) and may set ``approximate: true``.  Without a
file, every area is represented by the city's bounding box.  The file shipped
in ``ckanext/gelsenkirchen/data/boundaries-approximate.geojson`` holds rough,
APPROXIMATE polygons for demos and tests only; whenever geometries from an
approximate file are shown, they are labelled as approximate.
"""
from __future__ import annotations

import functools
import importlib.resources
import json
import logging
import os
from typing import Any, NamedTuple

import ckan.plugins.toolkit as tk

log = logging.getLogger(__name__)

BOUNDARIES_FILE_OPTION = "ckanext.gelsenkirchen.boundaries_file"

#: Gelsenkirchen's bounding box (lon/lat, WGS 84): west, south, east, north.
CITY_BBOX = (6.98, 51.47, 7.17, 51.64)

CITY = "gesamtstadt"


class Area(NamedTuple):
    code: str
    level: str           # "stadt", "stadtbezirk" or "stadtteil"
    de: str
    en: str
    parent: str | None   # the Stadtbezirk code of a Stadtteil

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
    return name.translate(table).lower()


def _build_areas() -> dict[str, Area]:
    areas = {CITY: Area(CITY, "stadt", "Gesamtstadt Gelsenkirchen",
                        "Whole city of Gelsenkirchen", None)}
    for code, de, en, _parts in _DISTRICTS:
        areas[f"bezirk-{code}"] = Area(f"bezirk-{code}", "stadtbezirk",
                                       f"Stadtbezirk {de}", f"District {en}", None)
    for code, _de, _en, parts in _DISTRICTS:
        for part in parts:
            areas[f"stadtteil-{slug(part)}"] = Area(
                f"stadtteil-{slug(part)}", "stadtteil", f"Stadtteil {part}",
                f"Quarter {part}", f"bezirk-{code}")
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


class Boundaries(NamedTuple):
    geometries: dict[str, dict[str, Any]]   # area code -> GeoJSON geometry
    approximate: bool
    source: str | None


def _resolve(path: str) -> str:
    if ":" in path and not os.path.isabs(path) and not path.startswith("file:"):
        module, rel = path.split(":", 1)
        return str(importlib.resources.files(module).joinpath(rel))
    return path.removeprefix("file://")


@functools.lru_cache(maxsize=8)
def _load(path: str | None) -> Boundaries:
    if not path:
        return Boundaries({}, False, None)
    real = _resolve(path)
    with open(real, encoding="utf-8") as f:
        data = json.load(f)
    geometries: dict[str, dict[str, Any]] = {}
    approximate = bool(data.get("properties", {}).get("approximate"))
    for feature in data.get("features", []):
        props = feature.get("properties") or {}
        code = props.get("code")
        if code in AREAS and feature.get("geometry"):
            geometries[code] = feature["geometry"]
            approximate = approximate or bool(props.get("approximate"))
    return Boundaries(geometries, approximate, real)


def boundaries() -> Boundaries:
    path = tk.config.get(BOUNDARIES_FILE_OPTION) or None
    try:
        return _load(path)
    except (OSError, ValueError) as e:
        log.error("Cannot read the boundaries file %s: %s; using the city bbox", path, e)
        return Boundaries({}, False, None)


def bbox_geometry() -> dict[str, Any]:
    w, s, e, n = CITY_BBOX
    return {"type": "Polygon",
            "coordinates": [[[w, s], [e, s], [e, n], [w, n], [w, s]]]}


def geometry_for(codes: list[str]) -> dict[str, Any]:
    """The GeoJSON geometry covering the given areas (a union, simplified)."""
    from shapely.geometry import mapping, shape
    from shapely.ops import unary_union

    codes = normalize_codes(codes) or [CITY]
    geoms = boundaries().geometries
    if not geoms:
        return bbox_geometry()
    shapes = []
    for code in codes:
        if code in geoms:
            shapes.append(shape(geoms[code]))
            continue
        # an area without its own feature: union of its parts, else the bbox
        parts = [shape(g) for c, g in geoms.items()
                 if code == CITY or AREAS[c].parent == code]
        if not parts:
            return bbox_geometry()
        shapes.extend(parts)
    union = unary_union(shapes).simplify(0.0005, preserve_topology=True)
    return json.loads(json.dumps(mapping(union)))
