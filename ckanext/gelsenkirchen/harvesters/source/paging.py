"""Paged sources: OGC API Features, WFS 2.0 and ArcGIS REST, one stop rule.

A paged source is downloaded completely, page by page, before anything is
parsed:

* OGC API Features ``.../collections/<id>/items``: the source URL (with
  ``limit`` when the harvester asks for a page size), then each page's
  ``rel=next`` link, resolved against the URL the page came from;
* WFS 2.0 GetFeature: ``startIndex`` (from the URL's, else 0) and ``count``
  (the source's ``page_size``, else the URL's, else 1000), plus
  ``outputFormat=application/json`` unless the URL names an output format;
  ``maxFeatures`` (WFS 1.x) is dropped;
* ArcGIS REST layer ``query``: ``where``, ``outFields=*``,
  ``returnGeometry=true``, ``outSR=4326``, ``f``, ``resultOffset`` and
  ``resultRecordCount``.

**The stop rule**: a page is the last one when the server says so (OGC
API: it has no ``rel=next`` link; WFS: ``numberMatched`` features have
been read, or without ``numberMatched``, the page has fewer features than
``count``; ArcGIS: ``exceededTransferLimit`` is not true) or when it has no
features. A request made before (the links loop) or more than
``page_limit`` pages is an error, never a silently cut snapshot. Every page
is checked as it arrives (a WFS exception report, an ArcGIS error answer, a
document that is not a GeoJSON FeatureCollection) and an unreadable page is
an error naming its number.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Iterator
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from ..http import FetchError, Response, with_query
from . import ParseError, esri
from .jsondoc import feature_collection, load_json

#: What a harvester passes in: GET a URL (safely), return the response.
Fetch = Callable[[str], Response]


@dataclasses.dataclass
class PagingOptions:
    page_limit: int = 100
    #: features per page (WFS count, ArcGIS resultRecordCount); None: the
    #: URL's count, else 1000
    page_size: int | None = None
    #: OGC API ``limit`` of the first request; None: the server's default
    ogc_limit: int | None = None
    where: str = "1=1"
    arcgis_format: str = "geojson"


@dataclasses.dataclass
class Page:
    response: Response
    #: the page as a GeoJSON FeatureCollection (Esri JSON converted)
    doc: dict[str, Any]


def follow_pages(first_request: Hashable, first_page: Any,
                 next_request: Callable[[Any, Any], Hashable | None],
                 fetch: Callable[[Any], Any], page_limit: int) -> Iterator[Any]:
    """``first_page`` and the pages after it: ``next_request(page, request)``
    names the next page's request (None after the last page), ``fetch``
    gets it. A request seen before or more than ``page_limit`` pages raise
    FetchError: stopping early would publish an incomplete snapshot as if
    it were complete."""
    seen = {first_request}
    request: Any = first_request
    page = first_page
    while True:
        yield page
        request = next_request(page, request)
        if request is None:
            return
        if request in seen:
            raise FetchError(f"the paging loops back to {request}")
        if len(seen) >= page_limit:
            raise FetchError(f"more than page_limit={page_limit} pages; the snapshot would be "
                             "incomplete (raise \"page_limit\")")
        seen.add(request)
        page = fetch(request)


def ogc_next_link(page: Any) -> str | None:
    """The ``rel=next`` link of an OGC API Features items page (a JSON one)."""
    if not isinstance(page, dict):
        return None
    links = page.get("links")
    for link in links if isinstance(links, list) else []:
        if isinstance(link, dict) and link.get("rel") == "next" \
                and isinstance(link.get("href"), str) and link["href"]:
            link_type = link.get("type")
            if not link_type or isinstance(link_type, str) and "json" in link_type.lower():
                return link["href"]
    return None


def check_wfs_exception(data: bytes) -> None:
    """A WFS/OWS ExceptionReport (XML, often with status 200) -> ParseError."""
    if data.lstrip()[:1] != b"<":
        return
    from defusedxml import ElementTree
    from defusedxml.common import DefusedXmlException

    try:
        root = ElementTree.fromstring(data)
    except (ElementTree.ParseError, DefusedXmlException) as error:
        raise ParseError(f"the source sent XML that could not be read safely ({error})") from None
    texts = [" ".join((el.text or "").split()) for el in root.iter()
             if el.tag.endswith("ExceptionText") and el.text]
    if texts or root.tag.endswith("ExceptionReport"):
        raise ParseError("the WFS answered with an exception: " + ("; ".join(texts) or root.tag))
    raise ParseError("the source sent XML, not GeoJSON (ask for outputFormat=application/json)")


def wfs_page_url(url: str, start: int, count: int) -> str:
    return with_query(url, {"startIndex": start, "count": count}, drop=("maxFeatures",))


def arcgis_query_url(url: str) -> str:
    """The layer's ``query`` endpoint for a FeatureServer/MapServer layer URL."""
    base = url.split("?", 1)[0].rstrip("/")
    return base if base.endswith("/query") else f"{base}/query"


def _features(doc: dict[str, Any]) -> list[Any]:
    return doc.get("features") or []


def _geojson(body: bytes) -> dict[str, Any]:
    doc = load_json(body)
    feature_collection(doc)
    return doc


def _wfs_geojson(body: bytes) -> dict[str, Any]:
    check_wfs_exception(body)
    return _geojson(body)


def _arcgis_geojson(body: bytes) -> dict[str, Any]:
    doc = esri.to_feature_collection(load_json(body))
    feature_collection(doc)
    return doc


_Pager = tuple[Hashable, Callable[[Page, Any], Hashable | None], Callable[[Any], str],
               Callable[[bytes], dict[str, Any]]]


def _ogc(url: str, opts: PagingOptions) -> _Pager:
    first = with_query(url, {"limit": opts.ogc_limit}) if opts.ogc_limit else url

    def next_request(page: Page, _request: Any) -> str | None:
        link = ogc_next_link(page.doc)
        return urljoin(page.response.url, link) if link and _features(page.doc) else None

    return first, next_request, str, _geojson


def _wfs(url: str, opts: PagingOptions) -> _Pager:
    query = {k.lower(): v for k, v in parse_qsl(urlsplit(url).query)}
    count = opts.page_size or int(query.get("count") or 1000)
    extra = {} if "outputformat" in query else {"outputFormat": "application/json"}

    def next_request(page: Page, start: int) -> int | None:
        returned = len(_features(page.doc))
        start += returned
        matched = page.doc.get("numberMatched")
        more = start < matched if isinstance(matched, int) else returned >= count
        return start if more and returned else None

    def to_url(start: int) -> str:
        return with_query(wfs_page_url(url, start, count), extra)

    return int(query.get("startindex") or 0), next_request, to_url, _wfs_geojson


def _arcgis(url: str, opts: PagingOptions) -> _Pager:
    query_url = arcgis_query_url(url)
    size = opts.page_size or 1000

    def next_request(page: Page, offset: int) -> int | None:
        returned = len(_features(page.doc))
        return offset + returned if returned and esri.exceeded_transfer_limit(page.doc) else None

    def to_url(offset: int) -> str:
        return with_query(query_url, {
            "where": opts.where, "outFields": "*", "returnGeometry": "true", "outSR": "4326",
            "f": opts.arcgis_format, "resultOffset": offset, "resultRecordCount": size})

    return 0, next_request, to_url, _arcgis_geojson


_PAGERS: dict[str, Callable[[str, PagingOptions], _Pager]] = {
    "ogcapi": _ogc, "wfs": _wfs, "arcgis": _arcgis}


def fetch_pages(fmt: str, url: str, fetch: Fetch, opts: PagingOptions) -> list[Page]:
    """Every page of the paged source ``url`` of format ``fmt`` (one of
    :data:`.formats.PAGED`)."""
    first, next_request, to_url, decode = _PAGERS[fmt](url, opts)
    fetched = 0

    def get(request: Any) -> Page:
        nonlocal fetched
        fetched += 1
        response = fetch(to_url(request))
        try:
            return Page(response, decode(response.body))
        except ParseError as error:
            raise ParseError(f"page {fetched}: {error}") from None

    return list(follow_pages(first, get(first), next_request, get, opts.page_limit))
