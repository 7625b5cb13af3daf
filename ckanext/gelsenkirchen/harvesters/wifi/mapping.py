"""From source records to hotspot rows: the target columns and the source
column names they are found by, the vocabularies of status, backhaul and
placement, timestamps, and the :class:`Mapper` that builds the rows
(identity, decimal rule, reprojection, accepted area, Stadtteil by point in
polygon). Pure: no CKAN, no database, no network.
"""
from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import Any

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters.base import ParseContext
from ckanext.gelsenkirchen.harvesters.report import Report
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs
from ckanext.gelsenkirchen.harvesters.source.numbers import choose_decimal, parse_int, parse_number
from ckanext.gelsenkirchen.harvesters.source.text import fold
from ckanext.gelsenkirchen.logic.messages import N_

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


def clean_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return " ".join(str(value).split())


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
        geographic_crs = bool(source_crs) and crs.is_geographic(str(source_crs))
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
            ident = clean_text(raw_id if raw_id is not None else self.value(record, "id"))
            if not ident:
                report.skip(N_("missing id"), row=number)
                continue
            if ident in seen:
                report.skip(N_("duplicate id: the same id is already in row {first}"),
                            row=number, feature_id=ident, first=seen[ident])
                continue
            if xy is None:
                if self.coordinates == "latlon":
                    xy = (self.value(record, "longitude"), self.value(record, "latitude"))
                else:
                    xy = (self.value(record, "x"), self.value(record, "y"))
            try:
                x, y = parse_number(xy[0], self.decimal), parse_number(xy[1], self.decimal)
            except ValueError as error:
                report.skip(N_("unparseable coordinates: {error}"), row=number, feature_id=ident,
                            error=str(error))
                continue
            if x is None or y is None:
                report.skip(N_("missing coordinates"), row=number, feature_id=ident)
                continue
            try:
                row = self._row(ident, record)
            except ValueError as error:
                report.skip(N_("unparseable number: {error}"), row=number, feature_id=ident,
                            error=str(error))
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
                report.skip(N_("unparseable coordinates: reprojection failed"), row=number,
                            feature_id=row["id"])
                continue
            if not geography.in_bbox(lon, lat, bbox):
                report.skip(N_("outside the city area: {lat} N, {lon} E (coordinates in {crs})"),
                            row=number, feature_id=row["id"], lat=f"{lat:.5f}",
                            lon=f"{lon:.5f}", crs=self.crs)
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
        address = clean_text(v(record, "address"))
        number = clean_text(v(record, "house_number"))
        if number and number not in address:
            address = f"{address} {number}".strip()
        access_points = v(record, "access_points")
        try:
            aps = parse_int(access_points, self.decimal)
        except ValueError:
            raise ValueError(f"access_points {clean_text(access_points)!r}") from None
        if aps is None:
            aps = d.get("access_points")
        name = clean_text(v(record, "name")) or address or ident
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
            "postcode": clean_text(v(record, "postcode")),
            "stadtteil": clean_text(v(record, "stadtteil")),
            "stadtbezirk": clean_text(v(record, "stadtbezirk")),
            "latitude": None,
            "longitude": None,
            "operator": clean_text(v(record, "operator")) or d.get("operator", ""),
            "ssid": clean_text(v(record, "ssid")) or d.get("ssid", ""),
            "access_points": aps,
            "backhaul": normalize_backhaul(v(record, "backhaul") or d.get("backhaul")),
            "status": normalize_status(v(record, "status") or d.get("status")),
            "indoor_outdoor": normalize_placement(v(record, "indoor_outdoor")
                                                  or d.get("indoor_outdoor")),
            "opening_hours": clean_text(v(record, "opening_hours")) or d.get("opening_hours", ""),
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
                self.report.warn(N_("no boundaries file configured (ckanext.gelsenkirchen."
                                    "boundaries_file): {count} rows stay without Stadtteil"),
                                 count=without)
