"""Harvester of public WiFi hotspot sources (plugin ``gelsenkirchen_wifi_harvester``).

Formats (``"format"`` in the source configuration, or detected):

``csv``
    As German cities publish it: ``;`` or ``,`` separated, decimal comma or
    point, UTF-8 (with or without BOM) or Windows-1252. Coordinates as
    ``X``/``Y`` in ``crs`` (default EPSG:25832) or latitude/longitude
    (default EPSG:4326). Columns are found by name (the city's
    ``ID;Name;Art;Traeger;PLZ;Ort;Strasse;Bezirk;Stadtteil;X;Y;...`` and
    common alternatives) or named in ``"columns"``.
``geojson`` / ``ogcapi`` / ``wfs``
    A GeoJSON FeatureCollection; OGC API Features pages are followed by
    their ``rel=next`` links, WFS 2.0 GetFeature is paged with
    ``startIndex``/``count``; both up to ``page_limit`` pages.
``meshviewer``
    Freifunk meshviewer JSON (``nodes[]``); nodes without a location are
    counted and reported, not published.

All parsing and mapping below is pure (no database); the plugin class at the
end only declares what the shared base needs.
"""
from __future__ import annotations

import csv
import datetime
import io
import json
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from typing import Any
from urllib.parse import parse_qsl, urljoin, urlsplit

from ckanext.gelsenkirchen.harvesters import geo
from ckanext.gelsenkirchen.harvesters import http as safe_http
from ckanext.gelsenkirchen.harvesters.base import (
    BASE_CONFIG_KEYS,
    ConfigError,
    ConfigKey,
    Download,
    ParseContext,
    ParseError,
    Snapshot,
    SnapshotHarvester,
    check_crs,
    check_positive,
    check_wfs_exception,
)
from ckanext.gelsenkirchen.harvesters.report import Report

FORMATS = ("auto", "csv", "geojson", "ogcapi", "wfs", "meshviewer")

# The stable DataStore column set (order = CSV/GeoJSON export order).
FIELDS: list[dict[str, Any]] = [
    {"id": "id", "type": "text", "info": {"label": "ID", "notes": "Kennung des Hotspots in der Quelle"}},
    {"id": "name", "type": "text", "info": {"label": "Name"}},
    {"id": "address", "type": "text", "info": {"label": "Adresse"}},
    {"id": "postcode", "type": "text", "info": {"label": "PLZ"}},
    {"id": "stadtteil", "type": "text", "info": {"label": "Stadtteil"}},
    {"id": "stadtbezirk", "type": "text", "info": {"label": "Stadtbezirk"}},
    {"id": "latitude", "type": "float8", "info": {"label": "Breitengrad (WGS 84)"}},
    {"id": "longitude", "type": "float8", "info": {"label": "Längengrad (WGS 84)"}},
    {"id": "operator", "type": "text", "info": {"label": "Betreiber"}},
    {"id": "ssid", "type": "text", "info": {"label": "SSID"}},
    {"id": "access_points", "type": "int", "info": {"label": "Access Points"}},
    {"id": "backhaul", "type": "text", "info": {"label": "Anbindung",
                                                "notes": "fibre, dsl, cable, radio, mobile, mesh"}},
    {"id": "status", "type": "text", "info": {"label": "Status",
                                              "notes": "online, offline, planned, unknown"}},
    {"id": "indoor_outdoor", "type": "text", "info": {"label": "Innen/Außen"}},
    {"id": "opening_hours", "type": "text", "info": {"label": "Öffnungszeiten"}},
    {"id": "last_seen", "type": "timestamp", "info": {"label": "Zuletzt gesehen"}},
    {"id": "source_id", "type": "text", "info": {"label": "Quelle",
                                                 "notes": "Name der Harvest-Quelle"}},
]
COLUMNS = [f["id"] for f in FIELDS]

# Targets a "columns" mapping may name, with the source column names found
# without a mapping (compared after folding: lower case, umlauts, no
# punctuation).
ALIASES: dict[str, tuple[str, ...]] = {
    "id": ("id", "kennung", "hotspot_id", "nr", "nummer", "objectid", "fid", "gml_id"),
    "name": ("name", "bezeichnung", "standort", "titel", "title", "hotspot"),
    "address": ("address", "adresse", "strasse", "street", "anschrift", "str"),
    "house_number": ("hausnummer", "hnr", "hausnr", "housenumber"),
    "postcode": ("postcode", "plz", "postleitzahl", "zip"),
    "city": ("ort", "city", "stadt", "gemeinde"),
    "stadtteil": ("stadtteil", "ortsteil", "district", "quarter"),
    "stadtbezirk": ("stadtbezirk", "bezirk", "borough"),
    "x": ("x", "rechtswert", "easting", "x_koordinate", "xkoordinate", "utm_x", "koord_x"),
    "y": ("y", "hochwert", "northing", "y_koordinate", "ykoordinate", "utm_y", "koord_y"),
    "latitude": ("latitude", "lat", "breite", "breitengrad", "wgs84_lat", "geo_lat"),
    "longitude": ("longitude", "lon", "lng", "long", "laenge", "laengengrad", "wgs84_lon", "geo_lon"),
    "operator": ("operator", "traeger", "betreiber", "anbieter", "provider", "owner"),
    "ssid": ("ssid", "netz", "netzname", "wlan_name", "network"),
    "access_points": ("access_points", "accesspoints", "anzahl_ap", "anzahl_access_points",
                      "zugangspunkte", "aps", "ap_anzahl", "anzahl_aps"),
    "backhaul": ("backhaul", "anbindung", "uplink", "zufuehrung", "netzanbindung"),
    "status": ("status", "zustand", "betriebsstatus", "state"),
    "indoor_outdoor": ("indoor_outdoor", "art", "innen_aussen", "lage", "standortart", "bereich"),
    "opening_hours": ("opening_hours", "oeffnungszeiten", "zeiten", "verfuegbarkeit"),
    "last_seen": ("last_seen", "lastseen", "zuletzt_gesehen", "stand", "aktualisiert", "updated"),
}
TARGETS = tuple(ALIASES)
DEFAULTABLE = ("operator", "ssid", "backhaul", "status", "indoor_outdoor", "opening_hours",
               "access_points")


# ---------------------------------------------------------------- normalisation

def fold(text: str) -> str:
    """Column name key: lower case, umlauts spelled out, punctuation as ``_``."""
    text = text.strip().lstrip("\ufeff").lower()
    for a, b in (("ä", "ae"), ("ö", "oe"), ("ü", "ue"), ("ß", "ss")):
        text = text.replace(a, b)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")


def _vocab(value: Any, table: dict[str, tuple[str, ...]], empty: str = "") -> str:
    text = "" if value is None else str(value).strip()
    if not text:
        return empty
    key = fold(text)
    for canonical, words in table.items():
        if key in words or any(key.startswith(w) for w in words if len(w) > 3):
            return canonical
    return text


STATUS = {
    "online": ("online", "aktiv", "active", "in_betrieb", "betrieb", "ja", "yes", "true", "1", "an",
               "up", "verfuegbar"),
    "offline": ("offline", "inaktiv", "inactive", "ausser_betrieb", "gestoert", "defekt", "nein",
                "no", "false", "0", "aus", "down", "stoerung"),
    "planned": ("planned", "geplant", "in_planung", "planung", "im_bau", "in_bau"),
}
BACKHAUL = {
    "fibre": ("fibre", "fiber", "glasfaser", "ftth", "fttb", "lwl", "glas", "gf"),
    "dsl": ("dsl", "vdsl", "adsl", "sdsl", "supervectoring"),
    "cable": ("cable", "kabel", "docsis", "koax", "coax", "kabelnetz"),
    "radio": ("radio", "richtfunk", "funk", "wireless", "wlan_bridge"),
    "mobile": ("mobile", "lte", "5g", "4g", "mobilfunk", "mobil", "umts"),
    "mesh": ("mesh", "freifunk", "freifunk_mesh"),
}
PLACEMENT = {
    "indoor+outdoor": ("innen_und_aussen", "indoor_outdoor", "innen_aussen", "beides", "both"),
    "indoor": ("indoor", "innen", "innenbereich", "drinnen", "gebaeude"),
    "outdoor": ("outdoor", "aussen", "aussenbereich", "draussen", "freiflaeche", "platz"),
}


def normalize_status(value: Any) -> str:
    return _vocab(value, STATUS, "unknown")


def normalize_backhaul(value: Any) -> str:
    return _vocab(value, BACKHAUL)


def normalize_placement(value: Any) -> str:
    return _vocab(value, PLACEMENT)


_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}([.,' ]\d{3})+)?([.,]\d+)?([eE][+-]?\d+)?$")


def parse_number(value: Any) -> float | None:
    """A number with decimal comma or point (``"361234,56"``, ``"7.0913"``,
    ``"1.234,5"``); None for empty; ValueError if unparseable."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise ValueError(repr(value))
    if isinstance(value, int | float):
        if value != value or value in (float("inf"), float("-inf")):
            raise ValueError(repr(value))
        return float(value)
    text = str(value).strip().replace("\u00a0", "").replace(" ", "")
    if not text:
        return None
    if not _NUMBER.match(text) or not any(c.isdigit() for c in text):
        raise ValueError(repr(str(value)))
    if "," in text and "." in text:
        if text.rfind(",") > text.rfind("."):
            text = text.replace(".", "").replace(",", ".")
        else:
            text = text.replace(",", "")
    elif "," in text:
        text = text.replace(",", ".") if text.count(",") == 1 else text.replace(",", "")
    text = text.replace("'", "")
    return float(text)


def parse_int(value: Any) -> int | None:
    number = parse_number(value)
    if number is None:
        return None
    if number != int(number) or number < 0:
        raise ValueError(repr(value))
    return int(number)


_DE_DATE = re.compile(r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:[ ,T]+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$")


def parse_timestamp(value: Any) -> str | None:
    """ISO 8601, ``dd.mm.yyyy [HH:MM[:SS]]`` or epoch seconds/milliseconds ->
    ISO 8601 in UTC without offset (DataStore ``timestamp``); ValueError if
    unparseable."""
    if value is None or value == "":
        return None
    if isinstance(value, int | float) and not isinstance(value, bool):
        seconds = value / 1000 if value > 10**11 else value
        moment = datetime.datetime.fromtimestamp(seconds, datetime.UTC)
        return moment.replace(tzinfo=None).isoformat(timespec="seconds")
    text = str(value).strip()
    match = _DE_DATE.match(text)
    if match:
        d, m, y, hh, mm, ss = match.groups()
        moment = datetime.datetime(int(y), int(m), int(d), int(hh or 0), int(mm or 0), int(ss or 0))
        return moment.isoformat(timespec="seconds")
    if text.isdigit():
        return parse_timestamp(int(text))
    moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
    return moment.isoformat(timespec="seconds")


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


# ---------------------------------------------------------------- config

def _check_format(key: str, value: Any) -> None:
    if value not in FORMATS:
        raise ConfigError(f'"{key}" must be one of {", ".join(FORMATS)}, not "{value}"')


def _check_columns(key: str, value: Any) -> None:
    for target, column in value.items():
        if target not in TARGETS:
            raise ConfigError(f'"{key}.{target}" is not a known field; known: {", ".join(TARGETS)}')
        if not isinstance(column, str) or not column.strip():
            raise ConfigError(f'"{key}.{target}" must name a source column (a non-empty string)')
    has_x, has_y = "x" in value, "y" in value
    if has_x != has_y:
        raise ConfigError(f'"{key}.{"y" if has_x else "x"}" is required when '
                          f'"{key}.{"x" if has_x else "y"}" is mapped')
    has_lat, has_lon = "latitude" in value, "longitude" in value
    if has_lat != has_lon:
        raise ConfigError(f'"{key}.{"longitude" if has_lat else "latitude"}" is required when '
                          f'"{key}.{"latitude" if has_lat else "longitude"}" is mapped')


def _check_defaults(key: str, value: Any) -> None:
    for field, default in value.items():
        if field not in DEFAULTABLE:
            raise ConfigError(f'"{key}.{field}" cannot have a default; allowed: {", ".join(DEFAULTABLE)}')
        if field == "access_points":
            if not isinstance(default, int) or isinstance(default, bool) or default < 0:
                raise ConfigError(f'"{key}.access_points" must be a whole number')
        elif not isinstance(default, str):
            raise ConfigError(f'"{key}.{field}" must be a string')


def _check_delimiter(key: str, value: Any) -> None:
    if value not in (";", ",", "\t", "|"):
        raise ConfigError(f'"{key}" must be one of ";", ",", "\\t", "|"')


def _check_encoding(key: str, value: Any) -> None:
    import codecs
    try:
        codecs.lookup(value)
    except LookupError:
        raise ConfigError(f'"{key}": unknown encoding "{value}"') from None


def _check_page_limit(key: str, value: Any) -> None:
    check_positive(key, value)
    if value > 10000:
        raise ConfigError(f'"{key}" must be at most 10000')


WIFI_CONFIG_KEYS: dict[str, ConfigKey] = {
    "format": ConfigKey((str,), "csv, geojson, ogcapi, wfs, meshviewer or auto", _check_format),
    "crs": ConfigKey((str,), "CRS of the coordinates, e.g. EPSG:25832", check_crs),
    "columns": ConfigKey((dict,), "field -> source column/property name", _check_columns),
    "defaults": ConfigKey((dict,), "values for fields the source lacks", _check_defaults),
    "delimiter": ConfigKey((str,), "CSV delimiter (default: detected)", _check_delimiter),
    "encoding": ConfigKey((str,), "CSV encoding (default: detected)", _check_encoding),
    "page_limit": ConfigKey((int,), "maximum pages of OGC API / WFS (default 100)", _check_page_limit),
    "page_size": ConfigKey((int,), "WFS count per page (default 1000)", _check_page_limit),
}


# ---------------------------------------------------------------- decoding

def decode_text(data: bytes, encoding: str | None = None) -> tuple[str, str]:
    """Decode CSV bytes: a configured encoding, a UTF-8 BOM, strict UTF-8,
    else charset-normalizer's best guess among Windows-1252/ISO-8859-15."""
    if encoding:
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as error:
            raise ParseError(f"the source is not valid {encoding} ({error.reason} at byte "
                             f"{error.start})") from None
    if data.startswith(b"\xef\xbb\xbf"):
        return data[3:].decode("utf-8", errors="replace"), "utf-8-sig"
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        pass
    from charset_normalizer import from_bytes

    best = from_bytes(data[:200_000], cp_isolation=["cp1252", "iso8859_15", "utf_8"]).best()
    name = best.encoding if best is not None else "cp1252"
    try:
        return data.decode(name), name
    except (UnicodeDecodeError, LookupError):
        return data.decode("cp1252", errors="replace"), "cp1252"


def detect_delimiter(header_line: str) -> str:
    counts = {d: header_line.count(d) for d in (";", ",", "\t", "|")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] else ","


def load_json(data: bytes, what: str = "JSON") -> Any:
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ParseError(f"the {what} is not UTF-8 ({error.reason} at byte {error.start})") from None
    try:
        return json.loads(text)
    except json.JSONDecodeError as error:
        stripped = text.rstrip()
        ends_early = error.pos >= len(stripped) - 1 or not stripped.endswith(("}", "]"))
        hint = " (the document ends early: truncated?)" if ends_early else ""
        raise ParseError(f"invalid {what}: {error.msg} at line {error.lineno} column "
                         f"{error.colno}{hint}") from None


# ---------------------------------------------------------------- mapping

class Mapper:
    """Turns raw records (dicts of source columns/properties) into rows."""

    def __init__(self, keys: Iterable[str], cfg: dict[str, Any], source_name: str,
                 context: ParseContext, report: Report, coordinates: str = "auto"):
        self.cfg = cfg
        self.report = report
        self.context = context
        self.source_name = source_name
        self.defaults = cfg.get("defaults") or {}
        by_fold = {fold(k): k for k in keys}
        self.columns: dict[str, str] = {}
        mapped = cfg.get("columns") or {}
        for target in TARGETS:
            if target in mapped:
                wanted = mapped[target]
                actual = wanted if wanted in by_fold.values() else by_fold.get(fold(wanted))
                if actual is None:
                    raise ParseError(f'the column "{wanted}" named in columns.{target} is not in the '
                                     f"source (it has: {', '.join(list(by_fold.values())[:30])})")
                self.columns[target] = actual
                continue
            for alias in ALIASES[target]:
                if alias in by_fold:
                    self.columns[target] = by_fold[alias]
                    break
        crs = cfg.get("crs")
        geographic_crs = bool(crs) and geo.is_geographic(crs)
        if coordinates == "auto":
            if "latitude" in self.columns and "longitude" in self.columns and (
                    "x" not in mapped or geographic_crs):
                coordinates = "latlon"
            elif "x" in self.columns and "y" in self.columns:
                coordinates = "xy"
            else:
                missing = "x/y (columns.x, columns.y) or latitude/longitude (columns.latitude, columns.longitude)"
                raise ParseError(f"no coordinate columns found: map {missing}")
        self.coordinates = coordinates
        if coordinates == "latlon":
            self.crs = crs or geo.WGS84
        elif coordinates == "xy":
            self.crs = crs or "EPSG:25832"
        else:  # geometry: GeoJSON
            self.crs = crs or geo.WGS84
        if coordinates != "geometry" and "id" not in self.columns:
            raise ParseError("no id column found: name it with columns.id")

    def value(self, record: dict[str, Any], target: str) -> Any:
        column = self.columns.get(target)
        return record.get(column) if column else None

    def build(self, records: list[tuple[int, Any, dict[str, Any], tuple[Any, Any] | None]]
              ) -> list[dict[str, Any]]:
        """records: (row number, id or None, raw record, (x, y) or None)."""
        report = self.report
        pending: list[tuple[int, dict[str, Any], float, float]] = []
        seen: dict[str, int] = {}
        for number, raw_id, record, xy in records:
            report.records_read += 1
            ident = _text(raw_id if raw_id is not None else self.value(record, "id"))
            if not ident:
                report.skip("missing id", row=number)
                continue
            if ident in seen:
                report.skip(f"duplicate id: the same id is already in row {seen[ident]}",
                            row=number, feature_id=ident)
                continue
            if xy is None:
                if self.coordinates == "latlon":
                    xy = (self.value(record, "longitude"), self.value(record, "latitude"))
                else:
                    xy = (self.value(record, "x"), self.value(record, "y"))
            try:
                x, y = parse_number(xy[0]), parse_number(xy[1])
            except ValueError as error:
                report.skip(f"unparseable coordinates: {error}", row=number, feature_id=ident)
                continue
            if x is None or y is None:
                report.skip("missing coordinates", row=number, feature_id=ident)
                continue
            try:
                row = self._row(ident, record)
            except ValueError as error:
                report.skip(f"unparseable number: {error}", row=number, feature_id=ident)
                continue
            seen[ident] = number
            pending.append((number, row, x, y))
        if not pending:
            return []
        try:
            lons, lats = geo.to_wgs84([p[2] for p in pending], [p[3] for p in pending], self.crs)
        except Exception as error:  # noqa: BLE001 - pyproj errors
            raise ParseError(f"coordinates could not be reprojected from {self.crs}: {error}") from None
        rows: list[dict[str, Any]] = []
        bbox = self.context.city_bbox
        for (number, row, _, _), lon, lat in zip(pending, lons, lats, strict=True):
            if not (lon == lon and lat == lat) or lon in (float("inf"), float("-inf")):
                report.skip("unparseable coordinates: reprojection failed", row=number,
                            feature_id=row["id"])
                continue
            if not geo.in_bbox(lon, lat, bbox):
                report.skip(f"outside the city area: {lat:.5f} N, {lon:.5f} E "
                            f"(coordinates in {self.crs})", row=number, feature_id=row["id"])
                continue
            row["longitude"] = round(lon, 7)
            row["latitude"] = round(lat, 7)
            rows.append(row)
        self._areas(rows)
        report.published = len(rows)
        return rows

    def _row(self, ident: str, record: dict[str, Any]) -> dict[str, Any]:
        v = self.value
        d = self.defaults
        address = _text(v(record, "address"))
        number = _text(v(record, "house_number"))
        if number and number not in address:
            address = f"{address} {number}".strip()
        access_points = v(record, "access_points")
        try:
            aps = parse_int(access_points)
        except ValueError:
            raise ValueError(f"access_points {_text(access_points)!r}") from None
        if aps is None:
            aps = d.get("access_points")
        name = _text(v(record, "name")) or address or ident
        last_seen_raw = v(record, "last_seen")
        try:
            last_seen = parse_timestamp(last_seen_raw)
        except (ValueError, OverflowError, OSError):
            self.report.count("unparseable last_seen (left empty)")
            last_seen = None
        return {
            "id": ident,
            "name": name,
            "address": address,
            "postcode": _text(v(record, "postcode")),
            "stadtteil": _text(v(record, "stadtteil")),
            "stadtbezirk": _text(v(record, "stadtbezirk")),
            "latitude": None,
            "longitude": None,
            "operator": _text(v(record, "operator")) or d.get("operator", ""),
            "ssid": _text(v(record, "ssid")) or d.get("ssid", ""),
            "access_points": aps,
            "backhaul": normalize_backhaul(v(record, "backhaul") or d.get("backhaul")),
            "status": normalize_status(v(record, "status") or d.get("status")),
            "indoor_outdoor": normalize_placement(v(record, "indoor_outdoor")
                                                  or d.get("indoor_outdoor")),
            "opening_hours": _text(v(record, "opening_hours")) or d.get("opening_hours", ""),
            "last_seen": last_seen,
            "source_id": self.source_name,
        }

    def _areas(self, rows: list[dict[str, Any]]) -> None:
        boundaries = self.context.boundaries
        missing = [r for r in rows if not r["stadtteil"]]
        if boundaries is not None:
            found = boundaries.lookup_many([(r["longitude"], r["latitude"]) for r in missing])
            for row, (stadtteil, bezirk) in zip(missing, found, strict=True):
                row["stadtteil"] = stadtteil
                row["stadtbezirk"] = row["stadtbezirk"] or bezirk
            for row in rows:
                if row["stadtteil"] and not row["stadtbezirk"]:
                    row["stadtbezirk"] = boundaries.bezirk_of(row["stadtteil"])
            if missing:
                self.report.count("Stadtteil by point in polygon",
                                  sum(1 for r in missing if r["stadtteil"]))
        without = sum(1 for r in rows if not r["stadtteil"])
        if without:
            self.report.count("without Stadtteil", without)
            if boundaries is None:
                self.report.warn("no boundaries file configured (ckanext.gelsenkirchen."
                                 f"boundaries_file): {without} rows stay without Stadtteil")


# ---------------------------------------------------------------- formats

def parse_csv(data: bytes, cfg: dict[str, Any], source_name: str,
              context: ParseContext) -> Snapshot:
    text, encoding = decode_text(data, cfg.get("encoding"))
    if "\x00" in text:
        raise ParseError("the CSV contains NUL bytes (a binary file?)")
    lines = text.splitlines()
    header_line = next((line for line in lines if line.strip()), "")
    if not header_line:
        raise ParseError("the CSV is empty")
    delimiter = cfg.get("delimiter") or detect_delimiter(header_line)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    report = Report()
    try:
        header = next(reader)
        while not any(h.strip() for h in header):
            header = next(reader)
        header = [h.strip().lstrip("\ufeff") for h in header]
        if len(header) < 2:
            raise ParseError(f"the CSV header has only one column ({header[0][:60]!r}); "
                             "wrong delimiter? set \"delimiter\"")
        mapper = Mapper(header, cfg, source_name, context, report)
        records: list[tuple[int, Any, dict[str, Any], Any]] = []
        ends_with_newline = text.endswith(("\n", "\r"))
        body = list(reader)
    except csv.Error as error:
        raise ParseError(f"invalid CSV at line {reader.line_num}: {error} (truncated?)") from None
    for index, values in enumerate(body):
        line = index + 2  # 1-based, header is line 1 (approximate for multi-line fields)
        if not any(v.strip() for v in values):
            continue
        if len(values) != len(header):
            if index == len(body) - 1 and not ends_with_newline and len(values) < len(header):
                raise ParseError(f"the CSV ends in the middle of row {line} (truncated?)")
            report.records_read += 1
            report.skip(f"wrong number of fields: {len(values)} instead of {len(header)}", row=line)
            continue
        records.append((line, None, dict(zip(header, values, strict=True)), None))
    rows = mapper.build(records)
    return Snapshot(rows=rows, report=report,
                    meta={"format": "csv", "encoding": encoding, "delimiter": delimiter,
                          "crs": mapper.crs})


def _feature_crs(collection: dict[str, Any]) -> str | None:
    crs = collection.get("crs")
    if isinstance(crs, dict):
        name = (crs.get("properties") or {}).get("name")
        if isinstance(name, str):
            match = re.search(r"EPSG:{1,2}(\d+)", name)
            if match:
                return f"EPSG:{match.group(1)}"
            if "CRS84" in name:
                return geo.WGS84
    return None


def parse_geojson_pages(pages: list[Any], cfg: dict[str, Any], source_name: str,
                        context: ParseContext, fmt: str = "geojson") -> Snapshot:
    report = Report()
    features: list[dict[str, Any]] = []
    crs = cfg.get("crs")
    for page in pages:
        if not isinstance(page, dict) or page.get("type") != "FeatureCollection":
            kind = page.get("type") if isinstance(page, dict) else type(page).__name__
            raise ParseError(f"expected a GeoJSON FeatureCollection, got {kind!r}")
        if not isinstance(page.get("features"), list):
            raise ParseError("the FeatureCollection has no \"features\" list")
        crs = crs or _feature_crs(page)
        features.extend(page["features"])
    keys: dict[str, None] = {}
    for feature in features[:1000]:
        if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
            keys.update(dict.fromkeys(feature["properties"]))
    mapper = Mapper(keys, {**cfg, "crs": crs} if crs else cfg, source_name, context, report,
                    coordinates="geometry")
    records: list[tuple[int, Any, dict[str, Any], Any]] = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            report.records_read += 1
            report.skip("not a GeoJSON Feature", row=number)
            continue
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        ident = mapper.value(props, "id") if "id" in (cfg.get("columns") or {}) else None
        if ident in (None, ""):
            ident = feature.get("id")
        if ident in (None, ""):
            ident = mapper.value(props, "id")
        geometry = feature.get("geometry")
        xy: tuple[Any, Any] = (None, None)
        if isinstance(geometry, dict):
            coords = geometry.get("coordinates")
            if geometry.get("type") == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
                coords = coords[0]
            elif geometry.get("type") != "Point":
                report.records_read += 1
                report.skip(f"unsupported geometry {geometry.get('type')!r} (a Point is expected)",
                            row=number, feature_id=ident)
                continue
            if isinstance(coords, list) and len(coords) >= 2:
                xy = (coords[0], coords[1])
            else:
                xy = ("", "") if coords in (None, []) else (str(coords), str(coords))
        elif "latitude" in mapper.columns and "longitude" in mapper.columns:
            xy = (mapper.value(props, "longitude"), mapper.value(props, "latitude"))
        if isinstance(xy[0], list | dict) or isinstance(xy[1], list | dict):
            xy = (json.dumps(xy[0]), json.dumps(xy[1]))
        records.append((number, "" if ident is None else ident, props, xy))
    rows = mapper.build(records)
    return Snapshot(rows=rows, report=report, meta={"format": fmt, "crs": mapper.crs})


# A node's owner is published as its operator only when it looks like a
# name: short, no e-mail address, no phone number (personal data). The
# length is checked first so the pattern never scans an untrusted long text.
MAX_OWNER_LENGTH = 120
_PHONE = re.compile(r"\d{5,}")


def _publishable_owner(owner: str) -> bool:
    return (0 < len(owner) <= MAX_OWNER_LENGTH and "@" not in owner
            and not _PHONE.search(owner))


def parse_meshviewer(doc: Any, cfg: dict[str, Any], source_name: str,
                     context: ParseContext) -> Snapshot:
    if not isinstance(doc, dict) or not isinstance(doc.get("nodes"), list):
        raise ParseError("expected Freifunk meshviewer JSON with a \"nodes\" list")
    report = Report()
    defaults = {"operator": "Freifunk", "ssid": "Freifunk", "backhaul": "mesh",
                "access_points": 1, **(cfg.get("defaults") or {})}
    mapper = Mapper(["node_id", "hostname", "owner", "lastseen"],
                    {**cfg, "defaults": defaults,
                     "columns": {"id": "node_id", "name": "hostname", "last_seen": "lastseen"}},
                    source_name, context, report, coordinates="geometry")
    records: list[tuple[int, Any, dict[str, Any], Any]] = []
    without_location = 0
    for number, node in enumerate(doc["nodes"], start=1):
        if not isinstance(node, dict):
            report.records_read += 1
            report.skip("not a node object", row=number)
            continue
        ident = node.get("node_id") or (node.get("nodeinfo") or {}).get("node_id")
        location = node.get("location") or (node.get("nodeinfo") or {}).get("location")
        if not isinstance(location, dict) or location.get("latitude") in (None, "") \
                or location.get("longitude") in (None, ""):
            without_location += 1
            report.records_read += 1
            report.skip("node without location (not published)", row=number, feature_id=ident)
            continue
        online = node.get("is_online")
        if online is None and isinstance(node.get("flags"), dict):
            online = node["flags"].get("online")
        owner = _text(node.get("owner"))
        record = {
            "node_id": ident,
            "hostname": node.get("hostname") or (node.get("nodeinfo") or {}).get("hostname"),
            "lastseen": node.get("lastseen"),
            "status": "online" if online is True else "offline" if online is False else "",
        }
        if _publishable_owner(owner) and "operator" not in (cfg.get("defaults") or {}):
            record["owner"] = owner
        records.append((number, ident if ident is not None else "", record,
                        (location.get("longitude"), location.get("latitude"))))
    mapper.columns["status"] = "status"
    mapper.columns["operator"] = "owner"
    rows = mapper.build(records)
    if without_location:
        report.count("nodes without location", without_location)
    online = sum(1 for r in rows if r["status"] == "online")
    report.count("online nodes", online)
    return Snapshot(rows=rows, report=report, meta={"format": "meshviewer", "crs": geo.WGS84})


def detect_format(url: str, body: bytes, content_type: str = "") -> str:
    lowered = url.lower()
    if "request=getfeature" in lowered:
        return "wfs"
    if re.search(r"/collections/[^/]+/items", urlsplit(url).path):
        return "ogcapi"
    head = body.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]
    if head in (b"{", b"["):
        if b'"nodes"' in body[:4096] and b'"FeatureCollection"' not in body[:4096]:
            return "meshviewer"
        return "geojson"
    if content_type in ("application/json", "application/geo+json"):
        return "geojson"
    return "csv"


# the rel=next link of an OGC API Features page (kept under its old name)
next_link = safe_http.ogc_next_link


def wfs_page_url(url: str, start: int, count: int) -> str:
    return safe_http.with_query(url, {"startIndex": start, "count": count}, drop=("maxFeatures",))


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """The derived figures of a snapshot (pure)."""
    count = len(rows)
    fibre = sum(1 for r in rows if r.get("backhaul") == "fibre")
    return {
        "count": count,
        "access_points": sum(r.get("access_points") or 0 for r in rows),
        "operators": sorted({r["operator"] for r in rows if r.get("operator")}),
        "ssids": sorted({r["ssid"] for r in rows if r.get("ssid")}),
        "stadtteile": sorted({r["stadtteil"] for r in rows if r.get("stadtteil")}),
        "fibre_share": round(fibre / count, 4) if count else 0.0,
        "status_counts": dict(sorted(Counter(r.get("status") or "unknown" for r in rows).items())),
        "points": [(r["longitude"], r["latitude"]) for r in rows],
    }


# ---------------------------------------------------------------- the plugin

class WifiHotspotHarvester(SnapshotHarvester):
    dataset_type = "wifi-hotspots"
    version = "1"
    datastore_fields = FIELDS
    file_basename = "wlan-hotspots"
    resource_titles = {
        "data": "WLAN-Hotspots (Tabelle)",
        "geojson": "WLAN-Hotspots (GeoJSON)",
        "csv": "WLAN-Hotspots (CSV)",
        "source": "Originalquelle",
    }
    accept = "text/csv, application/geo+json, application/json;q=0.9, */*;q=0.5"

    def info(self) -> dict[str, str]:
        return {
            "name": "gelsenkirchen_wifi",
            "title": "WLAN-Hotspots (CSV, GeoJSON, OGC API Features, WFS, Freifunk)",
            "description": "Publishes a source of public WiFi hotspots as one wifi-hotspots "
                           "dataset with a DataStore table, GeoJSON and CSV files.",
        }

    def config_keys(self) -> dict[str, ConfigKey]:
        return {**BASE_CONFIG_KEYS, **WIFI_CONFIG_KEYS}

    def check_config(self, cfg: dict[str, Any]) -> None:
        columns = cfg.get("columns") or {}
        fmt = cfg.get("format", "auto")
        if fmt == "meshviewer" and columns:
            raise ConfigError('"columns" is not used for meshviewer sources; remove it')
        if fmt not in ("wfs", "auto") and "page_size" in cfg:
            raise ConfigError('"page_size" only applies to "format": "wfs"')

    def download(self, url: str, cfg: dict[str, Any], limits: safe_http.Limits,
                 previous: dict[str, str]) -> Download:
        first = self.fetch_url(url, limits, etag=previous.get("etag"),
                               last_modified=previous.get("last_modified"))
        if first.not_modified:
            return Download(url=url, pages=[first], not_modified=True)
        fmt = cfg.get("format") or "auto"
        if fmt == "auto":
            fmt = detect_format(url, first.body, first.content_type)
        page_limit = cfg.get("page_limit", 100)
        pages = [first]

        def fetch(page_url: str) -> safe_http.Response:
            return self.fetch_url(page_url, limits)

        if fmt in ("ogcapi", "geojson"):
            def next_ogc(page: safe_http.Response, _request: str) -> str | None:
                href = next_link(load_json(page.body, "GeoJSON"))
                return urljoin(page.url, href) if href else None

            pages = list(safe_http.follow_pages(url, first, next_ogc, fetch, page_limit))
        elif fmt == "wfs":
            check_wfs_exception(first.body)
            size = cfg.get("page_size", 1000)
            query = {k.lower(): v for k, v in parse_qsl(urlsplit(url).query)}
            first_url = url
            if "startindex" not in query:
                # the first answer was unpaged: ask again page by page
                first_url = wfs_page_url(url, 0, size)
                first = fetch(first_url)
            else:
                size = int(query.get("count") or size)
            start = int(query.get("startindex") or 0)

            def next_wfs(page: safe_http.Response, _request: str) -> str | None:
                nonlocal start
                check_wfs_exception(page.body)
                doc = load_json(page.body, "GeoJSON")
                returned = len(doc.get("features") or []) if isinstance(doc, dict) else 0
                matched = doc.get("numberMatched") if isinstance(doc, dict) else None
                start += returned
                more = returned >= size if not isinstance(matched, int) else start < matched
                return wfs_page_url(url, start, size) if more and returned else None

            pages = list(safe_http.follow_pages(first_url, first, next_wfs, fetch, page_limit))
        return Download(url=url, pages=pages)

    def parse(self, download: Download, cfg: dict[str, Any], context: ParseContext) -> Snapshot:
        fmt = cfg.get("format") or "auto"
        first = download.first
        if fmt == "auto":
            fmt = detect_format(download.url, first.body, first.content_type)
        source_name = context.source_name
        if fmt == "csv":
            return parse_csv(first.body, cfg, source_name, context)
        if fmt == "meshviewer":
            return parse_meshviewer(load_json(first.body, "meshviewer JSON"), cfg, source_name,
                                    context)
        if fmt == "wfs":
            for page in download.pages:
                check_wfs_exception(page.body)
        pages = [load_json(page.body, "GeoJSON") for page in download.pages]
        return parse_geojson_pages(pages, cfg, source_name, context, fmt)

    def dataset_fields(self, snapshot: Snapshot, cfg: dict[str, Any]) -> dict[str, Any]:
        """The derived read-only fields of the wifi-hotspots schema."""
        figures = summarize(snapshot.rows)
        spatial = geo.spatial_geojson(figures.pop("points"))
        fields = {
            "hotspot_count": figures["count"],
            "access_point_count": figures["access_points"],
            "operators": figures["operators"],
            "ssids": figures["ssids"],
            "stadtteile_covered": known_stadtteile(figures["stadtteile"]),
            "fibre_backhaul_share": round(figures["fibre_share"] * 100, 2),
            "status_counts": json.dumps(figures["status_counts"]),
        }
        if spatial:
            fields["spatial"] = spatial
        return fields

    def creation_defaults(self, source: Any, cfg: dict[str, Any]) -> dict[str, Any]:
        return {
            **super().creation_defaults(source, cfg),
            "notes": ("Öffentliche WLAN-Hotspots in Gelsenkirchen, ein Eintrag je Hotspot mit "
                      "Standort, Betreiber, SSID, Anbindung und Status. Automatisch aus der "
                      "verlinkten Originalquelle übernommen (Harvesting)."),
            "theme": ["TECH"],
            "tag_string": "WLAN,Hotspot,Internet",
        }


def known_stadtteile(names: list[str]) -> list[str]:
    """Stadtteil names the schema knows (others are counted in the report)."""
    try:
        from ckanext.gelsenkirchen.logic import areas
    except ImportError:
        return names
    return [n for n in names if f"stadtteil-{areas.slug(n)}" in areas.AREAS]
