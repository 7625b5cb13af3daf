"""ArcGIS REST answers (``f=json``, Esri JSON) as GeoJSON FeatureCollections.

An Esri JSON answer becomes what the same layer answers with ``f=geojson``:
each feature's attributes are its properties, its ``id`` is the attribute
the layer names as ``objectIdFieldName`` (or ``uniqueIdField.name``), its
geometry the GeoJSON geometry of the Esri rings, paths or point, and the
``spatialReference`` is kept as the legacy ``crs`` member.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import shapely

from . import ParseError
from .crs import esri_crs
from .text import shown


def check_error(doc: Any) -> None:
    """An ArcGIS ``{"error": ...}`` answer (often with HTTP 200) -> ParseError."""
    if not isinstance(doc, Mapping):
        raise ParseError("the ArcGIS answer is not a JSON object")
    if "error" in doc:
        error = doc["error"] if isinstance(doc["error"], Mapping) else {}
        raise ParseError(
            f"ArcGIS error {error.get('code', '')}: {error.get('message', doc['error'])}")


def exceeded_transfer_limit(doc: Mapping[str, Any]) -> bool:
    """True when the layer has more features than this answer (ArcGIS paging)."""
    return bool(doc.get("exceededTransferLimit")
                or (doc.get("properties") or {}).get("exceededTransferLimit"))


def object_id_field(doc: Mapping[str, Any]) -> str | None:
    """The attribute that identifies the layer's features."""
    unique = doc.get("uniqueIdField")
    return doc.get("objectIdFieldName") or (
        unique.get("name") if isinstance(unique, Mapping) else None)


def to_feature_collection(doc: Any) -> dict[str, Any]:
    """An ArcGIS query answer (``f=geojson`` or ``f=json``) as GeoJSON."""
    check_error(doc)
    if doc.get("type") == "FeatureCollection":
        return dict(doc)
    if not isinstance(doc.get("features"), list):
        raise ParseError("the ArcGIS answer has no features")
    oid = object_id_field(doc)
    features = []
    for feature in doc["features"]:
        if not isinstance(feature, Mapping):
            features.append(feature)
            continue
        attributes = feature.get("attributes") or {}
        own_id = attributes.get(oid) if oid else None
        if own_id is None and oid:
            own_id = next((v for k, v in attributes.items() if k.lower() == oid.lower()), None)
        try:
            geometry = esri_to_geojson_geometry(feature.get("geometry"))
        except (TypeError, ValueError, OverflowError, shapely.errors.GEOSException) as error:
            # a GeoJSON geometry no reader accepts: the row is skipped, naming this
            geometry = {"type": f"unreadable Esri geometry ({shown(str(error), 100)})"}
        features.append({"type": "Feature", "id": own_id, "properties": attributes,
                         "geometry": geometry})
    out: dict[str, Any] = {"type": "FeatureCollection", "features": features,
                           "exceededTransferLimit": exceeded_transfer_limit(doc)}
    try:
        crs = esri_crs(doc.get("spatialReference"))
    except ValueError as error:
        raise ParseError(f"the ArcGIS answer has an {error}") from None
    if crs:
        out["crs"] = {"type": "name", "properties": {"name": crs}}
    return out


def esri_to_geojson_geometry(geometry: Mapping[str, Any] | None) -> dict | None:
    """Esri JSON geometry (rings/paths/x,y) to a GeoJSON geometry.

    Esri rings do not say which are holes: clockwise rings are outer
    boundaries, counter-clockwise rings are holes of the outer ring that
    contains them."""
    if not geometry:
        return None
    if "x" in geometry and "y" in geometry:
        return {"type": "Point", "coordinates": [geometry["x"], geometry["y"]]}
    if "rings" in geometry:
        outers: list[list] = []
        holes: list[list] = []
        for ring in geometry["rings"]:
            if len(ring) < 4:
                continue
            if not all(isinstance(p, list | tuple) and len(p) >= 2 and all(
                    isinstance(v, int | float) and not isinstance(v, bool) for v in p[:2])
                       for p in ring):
                raise ValueError("a ring point is not a pair of numbers")
            area2 = sum(x0 * y1 - x1 * y0 for (x0, y0, *_), (x1, y1, *_)
                        in zip(ring, ring[1:], strict=False))
            (outers if area2 <= 0 else holes).append([list(p[:2]) for p in ring])
        if not outers and holes:  # wrongly wound single-ring polygons
            outers, holes = holes, []
        polygons = [[outer] for outer in outers]
        outer_shapes = [shapely.Polygon(outer) for outer in outers]
        for hole in holes:
            point = shapely.Point(hole[0])
            for index, outer in enumerate(outer_shapes):
                if outer.contains(point):
                    polygons[index].append(hole)
                    break
        if len(polygons) == 1:
            return {"type": "Polygon", "coordinates": polygons[0]}
        return {"type": "MultiPolygon", "coordinates": polygons}
    if "paths" in geometry:
        return {"type": "MultiLineString", "coordinates": geometry["paths"]}
    return None
