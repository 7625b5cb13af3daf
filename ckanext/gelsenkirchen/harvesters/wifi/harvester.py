"""The WiFi hotspot harvester plugin (``gelsenkirchen_wifi_harvester``): its
configuration keys and what the shared base needs to know of hotspot
sources (see the package docstring).
"""
from __future__ import annotations

import json
from collections import Counter
from typing import TYPE_CHECKING, Any

from ckanext.gelsenkirchen import dataset_types, geography
from ckanext.gelsenkirchen.harvesters.base import (
    Download,
    ParseContext,
    Snapshot,
    SnapshotHarvester,
)
from ckanext.gelsenkirchen.harvesters.config import (
    ConfigError,
    ConfigKey,
    check_choice,
)
from ckanext.gelsenkirchen.harvesters.source import paging
from ckanext.gelsenkirchen.harvesters.source.jsondoc import load_json

from .mapping import DEFAULTABLE, TARGETS
from .readers import parse_csv, parse_geojson_pages, parse_meshviewer

if TYPE_CHECKING:
    from ckanext.harvest.model import HarvestSource

FORMATS = ("auto", "csv", "geojson", "ogcapi", "wfs", "meshviewer")


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
    own_config_keys = WIFI_CONFIG_KEYS

    def info(self) -> dict[str, str]:
        return {
            "name": "gelsenkirchen_wifi",
            "title": "WLAN-Hotspots (CSV, GeoJSON, OGC API Features, WFS, Freifunk)",
            "description": "Publishes a source of public WiFi hotspots as one wifi-hotspots "
                           "dataset with a DataStore table, GeoJSON and CSV files.",
        }

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

    def creation_defaults(self, source: HarvestSource, cfg: dict[str, Any]) -> dict[str, Any]:
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
