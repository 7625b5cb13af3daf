"""Which format a harvest source is: one rule for every harvester.

In this order (the first that decides wins):

1. the URL names a service: an ArcGIS REST layer (a path segment
   ``FeatureServer`` or ``MapServer``) is ``arcgis``; a query parameter
   ``service=WFS`` or ``request=GetFeature`` (names and values in any
   case) is ``wfs``; a path ``.../collections/<id>/items`` is ``ogcapi``;
2. the content, once downloaded: an SQLite header is ``gpkg``, a ZIP header
   ``xlsx``, a JSON document ``meshviewer`` (a ``nodes`` list, no
   FeatureCollection) or ``geojson``;
3. the URL's file extension: ``.gpkg``, ``.xlsx``, ``.csv``, ``.geojson``,
   ``.json``;
4. the content type (csv, json, sqlite/geopackage, spreadsheet);
5. downloaded text that is none of these is ``csv``.

A source configuration's ``"format"`` overrides all of it. Each harvester
reads a subset of :data:`FORMATS`; a source detected as another format is
refused with a message that names it.
"""
from __future__ import annotations

import re
from urllib.parse import parse_qsl, urlsplit

FORMATS: tuple[str, ...] = ("csv", "xlsx", "gpkg", "geojson", "meshviewer", "ogcapi", "wfs",
                            "arcgis")
#: Formats read page by page (never with a conditional request: a 304 for
#: the first page says nothing about the others).
PAGED: tuple[str, ...] = ("ogcapi", "wfs", "arcgis")
#: Source format -> file type of the "original source" resource (EU file types).
RESOURCE_FORMATS = {"csv": "CSV", "xlsx": "XLSX", "gpkg": "GPKG", "geojson": "GeoJSON",
                    "meshviewer": "JSON", "ogcapi": "GeoJSON", "wfs": "GeoJSON",
                    "arcgis": "GeoJSON"}
_EXTENSIONS = ((".gpkg", "gpkg"), (".xlsx", "xlsx"), (".csv", "csv"), (".geojson", "geojson"),
               (".json", "geojson"))
_ARCGIS = re.compile(r"/(featureserver|mapserver)(/|$)", re.I)
_OGC_ITEMS = re.compile(r"/collections/[^/]+/items/?$")


def is_wfs(url: str) -> bool:
    """A WFS request: ``service=WFS`` or ``request=GetFeature`` in the query."""
    query = {k.lower(): v.lower() for k, v in parse_qsl(urlsplit(url).query)}
    return query.get("service") == "wfs" or query.get("request") == "getfeature"


def service_format(url: str) -> str | None:
    """``arcgis``, ``wfs`` or ``ogcapi`` when the URL names such a service."""
    path = urlsplit(url).path
    if _ARCGIS.search(path):
        return "arcgis"
    if is_wfs(url):
        return "wfs"
    if _OGC_ITEMS.search(path):
        return "ogcapi"
    return None


def _content_format(body: bytes) -> str | None:
    if body.startswith(b"SQLite format 3\x00"):
        return "gpkg"
    if body.startswith(b"PK\x03\x04"):
        return "xlsx"
    if body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] in (b"{", b"["):
        head = body[:4096]
        if b'"nodes"' in head and b'"FeatureCollection"' not in head:
            return "meshviewer"
        return "geojson"
    return None


def _type_format(content_type: str) -> str | None:
    ct = content_type.lower()
    for marker, fmt in (("csv", "csv"), ("json", "geojson"), ("sqlite", "gpkg"),
                        ("geopackage", "gpkg"), ("spreadsheet", "xlsx")):
        if marker in ct:
            return fmt
    return None


def detect_format(url: str, body: bytes | None = None, content_type: str | None = None
                  ) -> str | None:
    """The format of a source (see the module docstring); None when the
    URL alone (no download yet) does not tell."""
    path = urlsplit(url).path.lower().rstrip("/")
    return (service_format(url)
            or (_content_format(body) if body is not None else None)
            or next((fmt for suffix, fmt in _EXTENSIONS if path.endswith(suffix)), None)
            or (_type_format(content_type) if content_type else None)
            or ("csv" if body is not None else None))


def resource_format(fmt: str) -> str:
    """The file type of the "original source" resource of a source format."""
    return RESOURCE_FORMATS.get(fmt, fmt.upper())
