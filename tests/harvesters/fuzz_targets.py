"""Fuzz targets of the harvest parsers (issue 12): every entry point that
takes a source's bytes or an editor's configuration, each with a
hypothesis strategy of inputs and the errors it may answer with.

The property: a target returns (a bounded result) or raises one of its
``allowed`` errors (ParseError, ConfigError: the gather error or the
refusal a user sees); any other exception is a failure, and so is an
input that takes more than ``SECONDS`` of CPU time. test_fuzz_parsers.py runs a few
derandomized examples of each in ``make test``; ``make fuzz-parsers``
(scripts/fuzz_parsers.py) runs many per target in a subprocess under
memory and CPU limits. Pure: no database, no network.
"""
from __future__ import annotations

import io
import json
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import shapely
from hypothesis import strategies as st

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters.base import ParseContext
from ckanext.gelsenkirchen.harvesters.broadband import geopackage, options, readers
from ckanext.gelsenkirchen.harvesters.broadband.harvester import BroadbandCoverageHarvester
from ckanext.gelsenkirchen.harvesters.config import ConfigError
from ckanext.gelsenkirchen.harvesters.http import FetchError, Response
from ckanext.gelsenkirchen.harvesters.source import ParseError, esri, paging
from ckanext.gelsenkirchen.harvesters.source.jsondoc import load_json
from ckanext.gelsenkirchen.harvesters.wifi import readers as wifi
from ckanext.gelsenkirchen.harvesters.wifi.harvester import WifiHotspotHarvester

SECONDS = 5.0

_BOUNDARIES = geography.load_boundaries(
    "ckanext.gelsenkirchen:data/boundaries-approximate.geojson")
assert _BOUNDARIES.bbox is not None  # the packaged file has features
CONTEXT = ParseContext(city_bbox=geography.expand_bbox(_BOUNDARIES.bbox, 1000),
                       boundaries=_BOUNDARIES, source_name="fuzz")
BROADBAND = options.parse_options({"reference_date": "2025-06"})

# ---------------------------------------------------------------- building blocks

#: column and property names the readers know, mixed with arbitrary ones
NAMES = st.one_of(st.sampled_from([
    "area_id", "id", "ID", "name", "Name", "stichtag", "reference_date", "anz_hh", "households",
    "down_fn_hh_alle_50", "down_fn_hh_alle_1000", "down_fn_hh_ftth_100", "ags", "area_level",
    "schulen_glasfaser", "X", "Y", "latitude", "longitude", "lat", "lon", "SSID", "Status",
    "Anzahl_AP", "Anbindung", "Art", "Traeger", "Stadtteil", "PLZ", "hostname", "owner"]),
    st.text(max_size=12))
NUMBERS = st.one_of(
    st.integers(min_value=-10**30, max_value=10**30), st.floats(allow_nan=True),
    st.sampled_from([1e999, -1e999, 10**400, 2**63, 51.5, 7.1, 367900.5, 5708000.25, 0, 100]))
TEXTS = st.one_of(st.text(max_size=30), st.sampled_from([
    "1e999", "nan", "-inf", "1.234,5", "1,234.5", "2025-06", "31.12.2025", "Juni 2025",
    "=HYPERLINK(\"x\")", "Glasfaser", "in Betrieb", "", " ", "0x10", "١٢٣"]))
SCALARS = st.one_of(st.none(), st.booleans(), NUMBERS, TEXTS)
JSON = st.recursive(SCALARS, lambda inner: st.one_of(
    st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=8), inner, max_size=4)),
    max_leaves=20)
COORD = st.one_of(NUMBERS, st.floats(min_value=6.9, max_value=7.3),
                  st.floats(min_value=51.4, max_value=51.7))
POSITION = st.lists(COORD, min_size=0, max_size=4)
RING = st.lists(POSITION, max_size=12)
GEOMETRY = st.one_of(
    st.none(), JSON,
    st.builds(lambda c: {"type": "Point", "coordinates": c}, st.one_of(POSITION, JSON)),
    st.builds(lambda r: {"type": "Polygon", "coordinates": r}, st.lists(RING, max_size=3)),
    st.builds(lambda p: {"type": "MultiPolygon", "coordinates": p},
              st.lists(st.lists(RING, max_size=2), max_size=3)),
    st.builds(lambda g: {"type": "GeometryCollection", "geometries": g},
              st.lists(JSON, max_size=3)))
CRS_NAMES = st.one_of(TEXTS, JSON, st.sampled_from([
    "EPSG:25832", "urn:ogc:def:crs:EPSG::25832", "http://www.opengis.net/def/crs/EPSG/0/3857",
    "CRS84", "+proj=longlat +nadgrids=/dev/zero", "ETRS89 / UTM zone 32N", "EPSG:999999",
    'GEOGCRS["x",DATUM["y",ELLIPSOID["z",6378137,298.2]],CS[ellipsoidal,2],'
    'AXIS["lat",north],AXIS["lon",east],UNIT["degree",0.0174]]']))
FEATURE = st.one_of(JSON, st.fixed_dictionaries(
    {"type": st.just("Feature"), "geometry": GEOMETRY,
     "properties": st.one_of(st.dictionaries(NAMES, SCALARS, max_size=8), JSON)},
    optional={"id": st.one_of(SCALARS, JSON)}))
COLLECTION = st.fixed_dictionaries(
    {"type": st.sampled_from(["FeatureCollection", "Feature", "Topology"]),
     "features": st.one_of(st.lists(FEATURE, max_size=6), JSON)},
    optional={"crs": st.one_of(JSON, st.builds(
        lambda n: {"type": "name", "properties": {"name": n}}, CRS_NAMES)),
        "numberMatched": SCALARS, "links": JSON})


def _json_bytes(doc: Any, mutate: tuple[int, bytes] | None) -> bytes:
    data = json.dumps(doc, allow_nan=True).encode()
    if mutate:  # a cut or an inserted byte: broken documents, as a source may send
        at, insert = mutate
        data = data[:at % (len(data) + 1)] + insert + data[at % (len(data) + 1) + 1:]
    return data


JSON_BYTES = st.builds(_json_bytes, COLLECTION,
                       st.one_of(st.none(), st.tuples(st.integers(0, 10**6), st.binary(max_size=3))))


def _table(header: list[str], rows: list[list[Any]], delimiter: str, encoding: str) -> bytes:
    lines = [delimiter.join(header)] + [delimiter.join("" if v is None else str(v) for v in row)
                                        for row in rows]
    return "\r\n".join(lines).encode(encoding, errors="replace")


CSV = st.one_of(st.binary(max_size=200), st.builds(
    _table, st.lists(NAMES, min_size=1, max_size=8),
    st.lists(st.lists(SCALARS, max_size=9), max_size=8),
    st.sampled_from([";", ",", "\t", "|"]), st.sampled_from(["utf-8", "cp1252", "utf-16"])))


def _xlsx(header: list[str], rows: list[list[Any]], cut: int | None) -> bytes:
    from openpyxl import Workbook
    book = Workbook()
    sheet = book.active
    sheet.append(header)
    for row in rows:
        sheet.append([v if not isinstance(v, str) else v[:200] for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    data = buffer.getvalue()
    return data[:cut] if cut is not None else data


_CELL = st.one_of(st.none(), st.booleans(), st.integers(-10**15, 10**15),
                  st.floats(allow_nan=False, allow_infinity=False), TEXTS.filter(
                      lambda t: t.isprintable()))
XLSX = st.builds(_xlsx, st.lists(NAMES.filter(lambda t: t.isprintable()), min_size=1,
                                 max_size=6),
                 st.lists(st.lists(_CELL, max_size=6), max_size=6),
                 st.one_of(st.none(), st.integers(0, 5000)))


def _gpkg(columns: list[str], rows: list[list[Any]], blobs: list[bytes | None], srs: Any,
          organization: Any) -> bytes:
    """A GeoPackage written with sqlite3 (as tests/harvesters/broadband/support.py
    does), its values and geometries from the strategy."""
    con = sqlite3.connect(":memory:")
    con.execute("CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT, srs_id INTEGER PRIMARY KEY,"
                " organization TEXT, organization_coordsys_id INTEGER, definition TEXT)")
    con.execute("INSERT INTO gpkg_spatial_ref_sys VALUES ('x', 1, ?, ?, ?)",
                (organization, srs if isinstance(srs, int) and abs(srs) < 2**63 else 0,
                 str(srs)[:10_000]))
    con.execute("CREATE TABLE gpkg_contents (table_name TEXT, data_type TEXT)")
    con.execute("CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT,"
                " srs_id INTEGER)")
    con.execute("INSERT INTO gpkg_contents VALUES ('grid', 'features')")
    con.execute("INSERT INTO gpkg_geometry_columns VALUES ('grid', 'geom', 1)")
    def text(value: str) -> str:  # what SQLite can store: UTF-8, and no NUL in a name
        return value.encode("utf-8", "replace").decode().replace("\x00", "")

    columns = [text(c) for c in columns]
    rows = [[text(v) if isinstance(v, str) else v for v in row] for row in rows]
    srs = text(srs) if isinstance(srs, str) else srs
    organization = text(organization) if isinstance(organization, str) else organization
    folded = {c.lower(): c for c in reversed(columns) if c and c.lower() not in ("geom", "fid")}
    names = list(folded.values())  # SQLite's column names are case-insensitive
    quoted = "".join(", " + '"' + c.replace('"', '""') + '"' for c in names)
    con.execute(f"CREATE TABLE grid (fid INTEGER PRIMARY KEY, geom BLOB{quoted})")
    for blob, row in zip(blobs, rows, strict=False):
        values = [v if not isinstance(v, int) or abs(v) < 2**63 else str(v)
                  for v in (row + [None] * len(names))[:len(names)]]
        con.execute(f"INSERT INTO grid VALUES (NULL, ?{', ?' * len(names)})", (blob, *values))
    con.commit()
    data = con.serialize()
    con.close()
    return data


def _gp_blob(wkb: bytes, flags: int) -> bytes:
    return b"GP\x00" + bytes([flags]) + b"\x01\x00\x00\x00" + (wkb or b"")


WKB = st.one_of(
    st.binary(max_size=60),
    st.builds(lambda x, y, s: shapely.to_wkb(shapely.box(x, y, x + s, y + s)) or b"",
              COORD.filter(lambda v: isinstance(v, float)), COORD.filter(
                  lambda v: isinstance(v, float)), st.floats(-1e6, 1e6)))
GPKG = st.builds(
    _gpkg, st.lists(NAMES, min_size=1, max_size=6),
    st.lists(st.lists(SCALARS, max_size=6), max_size=6),
    st.lists(st.one_of(st.none(), st.binary(max_size=40), st.builds(
        _gp_blob, WKB, st.integers(0, 255))), max_size=6),
    st.one_of(st.integers(-10, 10**6), CRS_NAMES), st.one_of(st.sampled_from(["EPSG", "NONE"]),
                                                               TEXTS))
ESRI = st.fixed_dictionaries(
    {"features": st.one_of(JSON, st.lists(st.one_of(JSON, st.fixed_dictionaries({
        "attributes": st.dictionaries(NAMES, SCALARS, max_size=6),
        "geometry": st.one_of(JSON, st.fixed_dictionaries({"x": COORD, "y": COORD}),
                              st.fixed_dictionaries({"rings": st.lists(RING, max_size=3)}))})),
        max_size=5))},
    optional={"spatialReference": st.one_of(JSON, st.fixed_dictionaries(
        {"wkid": st.one_of(SCALARS, st.sampled_from([25832, 102100, 4326]))})),
        "exceededTransferLimit": SCALARS})
MESHVIEWER = st.one_of(JSON, st.fixed_dictionaries({"nodes": st.lists(st.one_of(
    JSON, st.fixed_dictionaries({
        "node_id": SCALARS, "hostname": SCALARS, "owner": SCALARS, "lastseen": SCALARS,
        "location": st.one_of(JSON, st.fixed_dictionaries(
            {"latitude": COORD, "longitude": COORD}))})), max_size=6)}))
CONFIG_KEYS = st.sampled_from([
    "crs", "bbox", "delimiter", "encoding", "columns", "defaults", "fields", "dataset_name",
    "dataset_defaults", "dataset_title", "max_drop_share", "page_limit", "page_size", "layer",
    "sheet", "decimal", "reference_date", "area_level", "accept_drop", "format", "where"])
CONFIG = st.one_of(st.text(max_size=60), st.builds(
    lambda d: json.dumps(d, allow_nan=True),
    st.dictionaries(st.one_of(CONFIG_KEYS, st.text(max_size=8)), JSON, max_size=6)))


# ---------------------------------------------------------------- the entry points

def _paged(fmt: str) -> Callable[[list[bytes]], Any]:
    def run(bodies: list[bytes]) -> Any:
        answers = iter(bodies)

        def fetch(url: str) -> Response:
            return Response(url=url, status=200, headers={}, body=next(answers, b"{}"))
        pages = paging.fetch_pages(fmt, "https://fuzz.example/collections/x/items",
                                   fetch, paging.PagingOptions(page_limit=4, page_size=5))
        docs = [page.doc for page in pages]
        wifi.parse_geojson_pages(docs, {}, "fuzz", CONTEXT)
        return readers.collect_pages(docs, BROADBAND)
    return run


def _config(text: str) -> None:
    for harvester in (WifiHotspotHarvester(), BroadbandCoverageHarvester()):
        try:
            harvester.load_config(text)
        except ConfigError:
            pass


@dataclass(frozen=True)
class Target:
    strategy: st.SearchStrategy[Any]
    run: Callable[[Any], Any]
    allowed: tuple[type[BaseException], ...] = (ParseError,)


TARGETS: dict[str, Target] = {
    "wifi_csv": Target(CSV, lambda data: wifi.parse_csv(data, {}, "fuzz", CONTEXT)),
    "broadband_csv": Target(CSV, lambda data: readers.read_table_csv(data, BROADBAND)),
    "geojson": Target(JSON_BYTES, lambda data: (
        wifi.parse_geojson_pages([load_json(data)], {}, "fuzz", CONTEXT),
        readers.read_geojson(data, BROADBAND))),
    "ogc_api": Target(st.lists(JSON_BYTES, min_size=1, max_size=3), _paged("ogcapi"),
                      (ParseError, FetchError)),
    "wfs": Target(st.lists(JSON_BYTES, min_size=1, max_size=3), _paged("wfs"),
                  (ParseError, FetchError)),
    "arcgis": Target(ESRI, lambda doc: readers.collect_pages(
        [esri.to_feature_collection(doc)], BROADBAND)),
    "meshviewer": Target(MESHVIEWER, lambda doc: wifi.parse_meshviewer(doc, {}, "fuzz", CONTEXT)),
    "xlsx": Target(XLSX, lambda data: readers.read_xlsx(data, BROADBAND)),
    "geopackage": Target(GPKG, lambda data: geopackage.read_geopackage(
        data, options.parse_options({"reference_date": "2025-06"}))),
    "source_config": Target(CONFIG, _config, (ConfigError,)),
}
