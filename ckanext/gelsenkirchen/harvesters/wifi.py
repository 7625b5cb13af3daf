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

import datetime
import json
import re
from collections import Counter
from collections.abc import Iterable
from typing import Any

from ckanext.gelsenkirchen import dataset_types, geography
from ckanext.gelsenkirchen.harvesters.base import (
    Download,
    ParseContext,
    Snapshot,
    SnapshotHarvester,
)
from ckanext.gelsenkirchen.harvesters.config import (
    BASE_CONFIG_KEYS,
    SOURCE_CONFIG_KEYS,
    ConfigError,
    ConfigKey,
    check_choice,
)
from ckanext.gelsenkirchen.harvesters.report import Report
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs, paging
from ckanext.gelsenkirchen.harvesters.source.jsondoc import (
    feature_collection,
    feature_id,
    load_json,
)
from ckanext.gelsenkirchen.harvesters.source.numbers import choose_decimal, parse_int, parse_number
from ckanext.gelsenkirchen.harvesters.source.text import fold, read_csv

FORMATS = ("auto", "csv", "geojson", "ogcapi", "wfs", "meshviewer")
#: Target columns read as numbers (their text values decide the decimal rule).
NUMBER_TARGETS = ("x", "y", "latitude", "longitude", "access_points")

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


WIFI_CONFIG_KEYS: dict[str, ConfigKey] = {
    "format": ConfigKey((str,), "csv, geojson, ogcapi, wfs, meshviewer or auto",
                        check_choice(FORMATS)),
    "columns": ConfigKey((dict,), "field -> source column/property name", _check_columns),
    "defaults": ConfigKey((dict,), "values for fields the source lacks", _check_defaults),
}


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
        source_crs = cfg.get("crs")
        geographic_crs = bool(source_crs) and crs.is_geographic(source_crs)
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
        if coordinates == "xy":
            self.crs = source_crs or "EPSG:25832"
        else:  # latitude/longitude columns, GeoJSON geometry
            self.crs = source_crs or crs.WGS84
        self.decimal = "point"
        if coordinates != "geometry" and "id" not in self.columns:
            raise ParseError("no id column found: name it with columns.id")

    def value(self, record: dict[str, Any], target: str) -> Any:
        column = self.columns.get(target)
        return record.get(column) if column else None

    def choose_decimal(self, records: list[tuple[int, Any, dict[str, Any], Any]]) -> None:
        """The decimal rule: configured, else detected from the text of the
        coordinate and number columns of the first 1,000 records."""
        sample: list[Any] = []
        for _number, _ident, record, xy in records[:1000]:
            sample.extend(xy or ())
            sample.extend(self.value(record, t) for t in NUMBER_TARGETS if t in self.columns)
        self.decimal, how = choose_decimal(self.cfg.get("decimal"), sample)
        self.report.rules["decimal"] = how

    def build(self, records: list[tuple[int, Any, dict[str, Any], tuple[Any, Any] | None]]
              ) -> list[dict[str, Any]]:
        """records: (row number, id or None, raw record, (x, y) or None)."""
        report = self.report
        self.choose_decimal(records)
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
                x, y = parse_number(xy[0], self.decimal), parse_number(xy[1], self.decimal)
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
            lons, lats = crs.to_wgs84([p[2] for p in pending], [p[3] for p in pending], self.crs)
        except Exception as error:  # noqa: BLE001 - pyproj errors
            raise ParseError(f"coordinates could not be reprojected from {self.crs}: {error}") from None
        rows: list[dict[str, Any]] = []
        bbox = self.context.city_bbox
        for (number, row, _, _), lon, lat in zip(pending, lons, lats, strict=True):
            if not (lon == lon and lat == lat) or lon in (float("inf"), float("-inf")):
                report.skip("unparseable coordinates: reprojection failed", row=number,
                            feature_id=row["id"])
                continue
            if not geography.in_bbox(lon, lat, bbox):
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
            aps = parse_int(access_points, self.decimal)
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
        """Stadtteil by point in polygon where the source has none; the
        Stadtbezirk of a known Stadtteil from the city's areas."""
        boundaries = self.context.boundaries
        missing = [r for r in rows if not r["stadtteil"]]
        if not boundaries.empty:
            found = boundaries.lookup_many([(r["longitude"], r["latitude"]) for r in missing])
            for row, (stadtteil, bezirk) in zip(missing, found, strict=True):
                row["stadtteil"] = stadtteil
                row["stadtbezirk"] = row["stadtbezirk"] or bezirk
            if missing:
                self.report.count("Stadtteil by point in polygon",
                                  sum(1 for r in missing if r["stadtteil"]))
        for row in rows:
            if row["stadtteil"] and not row["stadtbezirk"]:
                row["stadtbezirk"] = geography.bezirk_of(row["stadtteil"])
        without = sum(1 for r in rows if not r["stadtteil"])
        if without:
            self.report.count("without Stadtteil", without)
            if boundaries.empty:
                self.report.warn("no boundaries file configured (ckanext.gelsenkirchen."
                                 f"boundaries_file): {without} rows stay without Stadtteil")


# ---------------------------------------------------------------- formats

def parse_csv(data: bytes, cfg: dict[str, Any], source_name: str,
              context: ParseContext) -> Snapshot:
    table = read_csv(data, cfg.get("delimiter"), cfg.get("encoding"))
    report = Report()
    mapper = Mapper(table.header, cfg, source_name, context, report)
    for line, count in table.misfits:
        report.records_read += 1
        report.skip(f"wrong number of fields: {count} instead of {len(table.header)}", row=line)
    records = [(line, None, dict(zip(table.header, values, strict=True)), None)
               for line, values in table.rows]
    rows = mapper.build(records)
    return Snapshot(rows=rows, report=report,
                    meta={"format": "csv", "encoding": table.encoding,
                          "delimiter": table.delimiter, "crs": mapper.crs})


def parse_geojson_pages(pages: list[Any], cfg: dict[str, Any], source_name: str,
                        context: ParseContext, fmt: str = "geojson") -> Snapshot:
    report = Report()
    features: list[dict[str, Any]] = []
    source_crs = cfg.get("crs")
    for page in pages:
        page_features, page_crs = feature_collection(page)
        source_crs = source_crs or page_crs
        features.extend(page_features)
    keys: dict[str, None] = {}
    for feature in features[:1000]:
        if isinstance(feature, dict) and isinstance(feature.get("properties"), dict):
            keys.update(dict.fromkeys(feature["properties"]))
    mapper = Mapper(keys, {**cfg, "crs": source_crs} if source_crs else cfg, source_name,
                    context, report, coordinates="geometry")
    records: list[tuple[int, Any, dict[str, Any], Any]] = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            report.records_read += 1
            report.skip("not a GeoJSON Feature", row=number)
            continue
        props = feature.get("properties") if isinstance(feature.get("properties"), dict) else {}
        ident = feature_id(mapper.value(props, "id"), feature.get("id"))
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
    return Snapshot(rows=rows, report=report, meta={"format": "meshviewer", "crs": crs.WGS84})


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
    dataset_type = dataset_types.WIFI
    version = "1"
    datastore_fields = dataset_types.WIFI_COLUMNS
    file_basename = "wlan-hotspots"
    resource_titles = {
        "data": "WLAN-Hotspots (Tabelle)",
        "geojson": "WLAN-Hotspots (GeoJSON)",
        "csv": "WLAN-Hotspots (CSV)",
        "source": "Originalquelle",
    }
    accept = "text/csv, application/geo+json, application/json;q=0.9, */*;q=0.5"
    formats = ("csv", "geojson", "ogcapi", "wfs", "meshviewer")

    def info(self) -> dict[str, str]:
        return {
            "name": "gelsenkirchen_wifi",
            "title": "WLAN-Hotspots (CSV, GeoJSON, OGC API Features, WFS, Freifunk)",
            "description": "Publishes a source of public WiFi hotspots as one wifi-hotspots "
                           "dataset with a DataStore table, GeoJSON and CSV files.",
        }

    def config_keys(self) -> dict[str, ConfigKey]:
        return {**BASE_CONFIG_KEYS, **SOURCE_CONFIG_KEYS, **WIFI_CONFIG_KEYS}

    def check_config(self, cfg: dict[str, Any]) -> None:
        columns = cfg.get("columns") or {}
        fmt = cfg.get("format", "auto")
        if fmt == "meshviewer" and columns:
            raise ConfigError('"columns" is not used for meshviewer sources; remove it')
        if fmt not in ("wfs", "auto") and "page_size" in cfg:
            raise ConfigError('"page_size" only applies to "format": "wfs"')

    def paging_options(self, cfg: dict[str, Any]) -> paging.PagingOptions:
        """OGC API pages as the server cuts them; WFS pages of page_size."""
        return paging.PagingOptions(page_limit=cfg.get("page_limit", 100),
                                    page_size=cfg.get("page_size"))

    def parse(self, download: Download, cfg: dict[str, Any], context: ParseContext) -> Snapshot:
        fmt = download.fmt
        body = download.first.body
        source_name = context.source_name
        if fmt == "csv":
            return parse_csv(body, cfg, source_name, context)
        if fmt == "meshviewer":
            return parse_meshviewer(load_json(body), cfg, source_name, context)
        pages = download.docs or [load_json(body)]
        return parse_geojson_pages(pages, cfg, source_name, context, fmt)

    def dataset_fields(self, snapshot: Snapshot, cfg: dict[str, Any]) -> dict[str, Any]:
        """The derived read-only fields of the wifi-hotspots schema."""
        figures = summarize(snapshot.rows)
        spatial = geography.spatial_geojson(figures.pop("points"))
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
    """The names of Stadtteile the city has (others are left out)."""
    return [n for n in names if geography.stadtteil_code(n)]
