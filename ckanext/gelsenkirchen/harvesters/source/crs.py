"""Coordinate reference systems of sources and reprojection to WGS 84.

A source's CRS is, in this order: the ``"crs"`` of the source
configuration; the one the document names (a GeoJSON document's legacy
``crs`` member, an Esri JSON answer's ``spatialReference``, a GeoPackage's
``gpkg_spatial_ref_sys``); else WGS 84 lon/lat (RFC 7946). Names are
``EPSG:25832``, ``25832``, OGC URNs (``urn:ogc:def:crs:EPSG::25832``),
OGC URLs (``http://www.opengis.net/def/crs/EPSG/0/25832``), ``CRS84``, a
CRS name of the PROJ database (``ETRS89 / UTM zone 32N``) or WKT. A name
that cannot be read is an error, never silently WGS 84.

A CRS name comes from untrusted sources and editors, so it must resolve
to an authority code (:func:`normalize_crs`), and only that code reaches
the transformations: PROJ strings and any text naming files (``+init=``,
``+nadgrids=``, grids, ``PARAMETERFILE``) are refused before PROJ reads
them, WKT is limited in length and nesting.
"""
from __future__ import annotations

import functools
import re
from collections.abc import Mapping, Sequence
from typing import Any

from pyproj import CRS, Transformer

from .text import shown

WGS84 = "EPSG:4326"
_EPSG = re.compile(r"EPSG(?::[\d.]*)?:+(\d+)$|/EPSG/\d+/(\d+)$", re.I)
#: Esri's well-known ids without an EPSG code of the same number
_ESRI_WKIDS = {102100: 3857, 102113: 3857}
#: Text PROJ would read files for, or build transformations from
_FILE_REFERENCES = re.compile(r"init\s*=|grids\s*=|file\s*=|parameterfile|pipeline", re.I)
MAX_CRS_TEXT = 20_000
MAX_WKT_DEPTH = 32


def normalize_crs(value: Any) -> str:
    """A canonical ``AUTH:CODE`` (``EPSG:25832``; ``EPSG:4326`` for CRS84);
    ValueError naming the value when it cannot be read or names no
    authority code."""
    if isinstance(value, int) and not isinstance(value, bool):
        value = f"EPSG:{value}"
    if not isinstance(value, str):
        raise ValueError(f"unknown CRS {shown(value)} (not a name)")
    return _normalize_text(value.strip())


@functools.lru_cache(maxsize=64)
def _normalize_text(text: str) -> str:
    _check_text(text)  # first: "+init=epsg:25832" is a PROJ string, not a code
    if match := _EPSG.search(text):
        text = f"EPSG:{match[1] or match[2]}"
    elif text.upper().endswith("CRS84"):
        return WGS84
    try:
        crs = CRS.from_user_input(text)
        authority = crs.to_authority()
    except Exception as error:  # noqa: BLE001 - pyproj raises CRSError and TypeError
        raise ValueError(f"unknown CRS {shown(text)} ({shown(str(error), 200)})") from None
    if authority is None:
        raise ValueError(f"unknown CRS {shown(text)} (no EPSG or other authority code "
                         "matches it; name it by its code, e.g. EPSG:25832)")
    if authority == ("OGC", "CRS84"):
        return WGS84
    return ":".join(authority)


def _check_text(text: str) -> None:
    """Refuse what PROJ must not be given: PROJ strings and file references
    (PROJ reads ``+init=`` and grid files), huge or deeply nested text."""
    if text.startswith(("+", "proj=", "{")) or _FILE_REFERENCES.search(text):
        raise ValueError(f"unsupported CRS {shown(text)}: name it by its code (EPSG:25832), "
                         "an OGC URN or URL, or as WKT; PROJ strings, PROJJSON and file "
                         "references are not accepted")
    if len(text) > MAX_CRS_TEXT or "\x00" in text:
        raise ValueError(f"unsupported CRS {shown(text)}: more than {MAX_CRS_TEXT} characters "
                         "or a NUL character")
    depth = 0
    for char in text:
        depth += (char in "[(") - (char in "])")
        if depth > MAX_WKT_DEPTH:
            raise ValueError(f"unsupported CRS {shown(text)}: nested more than "
                             f"{MAX_WKT_DEPTH} levels")


def geojson_crs(doc: Mapping[str, Any]) -> str | None:
    """The CRS a GeoJSON document names in its legacy ``crs`` member (as
    GeoServer and QGIS still write for EPSG:25832 data), if any; ValueError
    when it names one that cannot be read."""
    member = doc.get("crs")
    if not isinstance(member, Mapping):
        return None
    properties = member.get("properties")
    if properties is None:
        return None
    if not isinstance(properties, Mapping):
        raise ValueError("its \"properties\" are not an object")
    name = properties.get("name")
    return normalize_crs(name) if name else None


def esri_crs(spatial_reference: Any) -> str | None:
    """The CRS of an Esri JSON ``spatialReference`` (``latestWkid``/``wkid``);
    ValueError when it is not one."""
    if not spatial_reference:
        return None
    if not isinstance(spatial_reference, Mapping):
        raise ValueError(f"unreadable spatialReference {shown(spatial_reference)}")
    wkid = spatial_reference.get("latestWkid") or spatial_reference.get("wkid")
    if not wkid:
        return None
    if isinstance(wkid, str) and wkid.strip().isdigit() and len(wkid) < 12:
        wkid = int(wkid)
    if not isinstance(wkid, int) or isinstance(wkid, bool) or not 0 < wkid < 10**9:
        raise ValueError(f"unreadable spatialReference wkid {shown(wkid)}")
    return f"EPSG:{_ESRI_WKIDS.get(wkid, wkid)}"


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
    itself (or no CRS: RFC 7946 GeoJSON is WGS 84); ValueError for a CRS
    that cannot be read or transformed."""
    if crs is None or crs == "":
        return None
    code = normalize_crs(crs)
    try:
        return _transformer(code)
    except Exception as error:  # noqa: BLE001 - pyproj's ProjError, CRSError
        raise ValueError(f"no transformation from {code} to WGS 84 ({error})") from None


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
