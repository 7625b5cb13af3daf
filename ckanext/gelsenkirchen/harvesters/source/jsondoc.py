"""JSON documents, GeoJSON FeatureCollections and a feature's identity.

* :func:`load_json`: UTF-8 JSON (a byte order mark is allowed); anything
  else is a :class:`ParseError` saying where the document breaks and
  whether it ends early (a truncated download).
* :func:`feature_collection`: the features and the CRS of a GeoJSON
  FeatureCollection; any other document is a ParseError.
* :func:`feature_id`: the one rule for a feature's identity.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from . import ParseError
from .crs import geojson_crs


def load_json(data: bytes | str) -> Any:
    """The decoded JSON document of ``data``."""
    if isinstance(data, bytes):
        try:
            data = data.decode("utf-8-sig")
        except UnicodeDecodeError as error:
            raise ParseError(f"not valid JSON: not UTF-8 ({error.reason} at byte "
                             f"{error.start})") from None
    try:
        return json.loads(data)
    except json.JSONDecodeError as error:
        stripped = data.rstrip()
        ends_early = error.pos >= len(stripped) - 1 or not stripped.endswith(("}", "]"))
        hint = " (the document ends early: truncated?)" if ends_early else ""
        raise ParseError(f"not valid JSON: {error.msg} at line {error.lineno} column "
                         f"{error.colno}{hint}") from None
    except ValueError as error:  # an integer of more than 4,300 digits
        raise ParseError(f"not valid JSON: {str(error).split(';')[0]}") from None
    except RecursionError:
        raise ParseError("not valid JSON: nested too deeply") from None


def feature_collection(doc: Any) -> tuple[list[Any], str | None]:
    """The features of a GeoJSON FeatureCollection and the CRS it names
    (None: WGS 84)."""
    if not isinstance(doc, Mapping) or doc.get("type") != "FeatureCollection":
        kind = doc.get("type") if isinstance(doc, Mapping) else type(doc).__name__
        raise ParseError(f"not a GeoJSON FeatureCollection (got {kind!r})")
    if not isinstance(doc.get("features"), list):
        raise ParseError('the GeoJSON FeatureCollection has no "features" list')
    try:
        crs = geojson_crs(doc)
    except ValueError as error:
        raise ParseError(f"the document's \"crs\" member: {error}") from None
    return doc["features"], crs


def feature_id(attribute: Any, own_id: Any) -> Any:
    """The identity of a source feature, one rule for every harvester: the
    value of its identifying attribute (named in the source configuration
    or recognised by its name) when it has one, else the feature's own id
    (a GeoJSON feature's ``id``; for an ArcGIS Esri JSON feature the
    attribute the layer names as ``objectIdFieldName``, see :mod:`.esri`,
    as in the layer's ``f=geojson`` answer). None when it has neither."""
    for value in (attribute, own_id):
        if value is not None and str(value).strip() != "":
            return value
    return None
