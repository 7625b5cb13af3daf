"""Coordinate reference systems of sources and reprojection to WGS 84.

A source's CRS is, in this order: the ``"crs"`` of the source
configuration; the one the document names (a GeoJSON document's legacy
``crs`` member, an Esri JSON answer's ``spatialReference``, a GeoPackage's
``gpkg_spatial_ref_sys``); else WGS 84 lon/lat (RFC 7946). Names are
``EPSG:25832``, ``25832``, OGC URNs (``urn:ogc:def:crs:EPSG::25832``),
OGC URLs (``http://www.opengis.net/def/crs/EPSG/0/25832``), ``CRS84`` or
anything else pyproj reads (WKT). A name that cannot be read is an error,
never silently WGS 84.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pyproj import CRS, Transformer

WGS84 = "EPSG:4326"
_EPSG = re.compile(r"EPSG(?::[\d.]*)?:+(\d+)$|/EPSG/\d+/(\d+)$", re.I)
#: Esri's well-known ids without an EPSG code of the same number
_ESRI_WKIDS = {102100: 3857, 102113: 3857}


def normalize_crs(value: Any) -> str:
    """A canonical ``AUTH:CODE`` (``EPSG:25832``; ``EPSG:4326`` for CRS84);
    ValueError naming the value when pyproj cannot read it."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"EPSG:{value}"
    text = str(value).strip()
    if match := _EPSG.search(text):
        text = f"EPSG:{match[1] or match[2]}"
    elif text.upper().endswith("CRS84"):
        return WGS84
    try:
        crs = CRS.from_user_input(text)
    except Exception as error:  # noqa: BLE001 - pyproj raises CRSError and TypeError
        raise ValueError(f"unknown CRS {value!r} ({error})") from None
    authority = crs.to_authority()
    if authority == ("OGC", "CRS84"):
        return WGS84
    return ":".join(authority) if authority else crs.to_wkt()


def geojson_crs(doc: Mapping[str, Any]) -> str | None:
    """The CRS a GeoJSON document names in its legacy ``crs`` member (as
    GeoServer and QGIS still write for EPSG:25832 data), if any."""
    member = doc.get("crs")
    if not isinstance(member, Mapping):
        return None
    name = (member.get("properties") or {}).get("name")
    return normalize_crs(name) if name else None


def esri_crs(spatial_reference: Mapping[str, Any] | None) -> str | None:
    """The CRS of an Esri JSON ``spatialReference`` (``latestWkid``/``wkid``)."""
    if not spatial_reference:
        return None
    wkid = spatial_reference.get("latestWkid") or spatial_reference.get("wkid")
    if not wkid:
        return None
    return f"EPSG:{_ESRI_WKIDS.get(int(wkid), int(wkid))}"


def is_geographic(crs: str) -> bool:
    return CRS.from_user_input(normalize_crs(crs)).is_geographic


@functools.lru_cache(maxsize=32)
def _transformer(crs: str) -> Transformer | None:
    source = CRS.from_user_input(crs)
    if source.equals(CRS.from_epsg(4326), ignore_axis_order=True):
        return None
    return Transformer.from_crs(source, CRS.from_epsg(4326), always_xy=True)


def transformer_to_wgs84(crs: Any) -> Transformer | None:
    """A cached always-xy transformer to WGS 84 lon/lat; None for WGS 84
    itself (or no CRS: RFC 7946 GeoJSON is WGS 84)."""
    if crs is None or crs == "":
        return None
    return _transformer(normalize_crs(crs))


def to_wgs84(xs: Sequence[float], ys: Sequence[float], crs: Any) -> tuple[list[float], list[float]]:
    """x/y (easting/northing or lon/lat order) as lon/lat lists."""
    transformer = transformer_to_wgs84(crs)
    if transformer is None or not xs:
        return list(xs), list(ys)
    lons, lats = transformer.transform(list(xs), list(ys))
    return list(lons), list(lats)


def reproject(geometry: Any, crs: Any) -> Any:
    """A shapely geometry in ``crs`` as WGS 84 lon/lat."""
    transformer = transformer_to_wgs84(crs)
    if transformer is None or geometry is None:
        return geometry
    import numpy as np
    import shapely

    return shapely.transform(geometry, lambda xy: np.column_stack(
        transformer.transform(xy[:, 0], xy[:, 1])))
