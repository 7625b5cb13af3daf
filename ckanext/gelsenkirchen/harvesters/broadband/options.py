"""The configuration of a broadband source: its keys, checked once when the
source is saved (and when a job starts), and the reading rules built from
a checked configuration.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ckanext.gelsenkirchen.dataset_types import LEVELS
from ckanext.gelsenkirchen.geography import CITY_AGS
from ckanext.gelsenkirchen.harvesters import config
from ckanext.gelsenkirchen.harvesters.config import (
    SOURCE_CONFIG_KEYS,
    ConfigError,
    ConfigKey,
    check_choice,
    check_text,
)
from ckanext.gelsenkirchen.harvesters.source.text import fold

from .scheme import CANONICAL_FIELDS, DEFAULT_ALIASES, normalise_reference_date

DEFAULT_ATTRIBUTION = ("Datenquelle: Breitbandatlas | Gigabit-Grundbuch der "
                       "Bundesnetzagentur")

FORMATS: tuple[str, ...] = ("geojson", "ogcapi", "wfs", "arcgis", "csv", "xlsx", "gpkg")


@dataclass
class BroadbandOptions:
    """The reading rules of a broadband source, from its (checked) configuration."""

    format: str | None = None
    fields: dict[str, str] = field(default_factory=dict)
    reference_date: str | None = None
    area_level: str = "stadtteil"
    crs: str | None = None
    attribution: str = DEFAULT_ATTRIBUTION
    layer: str | None = None
    sheet: str | None = None
    delimiter: str | None = None
    encoding: str | None = None
    decimal: str | None = None
    where: str = "1=1"
    page_size: int = 1000
    page_limit: int = 100
    ags: str = CITY_AGS
    arcgis_format: str = "geojson"

    @classmethod
    def from_config(cls, cfg: Mapping[str, Any]) -> BroadbandOptions:
        """The options of a configuration already checked against the
        harvester's configuration keys."""
        names = {f.name for f in cls.__dataclass_fields__.values()}
        opts = cls(**{k: v for k, v in cfg.items() if k in names and k != "reference_date"})
        if cfg.get("reference_date") is not None:
            opts.reference_date = normalise_reference_date(cfg["reference_date"])
        return opts

    @property
    def aliases(self) -> dict[str, str]:
        merged = dict(DEFAULT_ALIASES)
        merged.update({fold(k): v for k, v in self.fields.items()})
        return merged


def _check_fields(key: str, value: Any) -> None:
    for source_name, target in value.items():
        if not isinstance(target, str) or target not in CANONICAL_FIELDS:
            raise ConfigError(
                f'"{key}": {source_name!r} maps to {target!r}, which is not a name of the '
                "scheme (down_fn_hh_<technology>_<Mbit/s>, households, area_id, area_name, "
                "area_level, reference_date, ags, schools_fibre, ...)")


def _check_reference_date(key: str, value: Any) -> None:
    if normalise_reference_date(value) is None:
        raise ConfigError(f'"{key}": not a date (use YYYY-MM-DD or YYYY-MM)')


BROADBAND_CONFIG_KEYS: dict[str, ConfigKey] = {
    "format": ConfigKey((str,), "geojson, ogcapi, wfs, arcgis, csv, xlsx or gpkg "
                                "(default: detected from the URL and content)",
                        check_choice(FORMATS)),
    "fields": ConfigKey((dict,), "source attribute -> scheme name, e.g. "
                                 '{"GIGABIT": "down_fn_hh_alle_1000"}', _check_fields),
    "reference_date": ConfigKey((str,), "reference date for rows without one (YYYY-MM-DD or "
                                        "YYYY-MM)", _check_reference_date),
    "area_level": ConfigKey((str,), "level of areas without one: stadt, stadtbezirk, "
                                    "stadtteil (default) or grid", check_choice(LEVELS)),
    "attribution": ConfigKey((str,), "attribution text the source requires", check_text),
    "layer": ConfigKey((str,), "GeoPackage feature table (default: the only one)", check_text),
    "sheet": ConfigKey((str,), "XLSX worksheet (default: the first)", check_text),
    "where": ConfigKey((str,), "ArcGIS query where clause (default 1=1)", check_text),
    "arcgis_format": ConfigKey((str,), "ArcGIS answer format: geojson (default) or json",
                               check_choice(("geojson", "json"))),
    "ags": ConfigKey((str,), "municipality key of the city in a grid's ags column "
                             "(default 05513000)", check_text),
}


def options_of(cfg: Mapping[str, Any]) -> BroadbandOptions:
    """The reading rules of a checked configuration, with the site's
    attribution where the source names none."""
    opts = BroadbandOptions.from_config(cfg)
    if "attribution" not in cfg:
        opts.attribution = default_attribution()
    return opts


def parse_options(cfg: Mapping[str, Any]) -> BroadbandOptions:
    """Check the broadband keys of ``cfg`` (ConfigError naming the key) and
    return its reading rules."""
    config.validate(cfg, {**SOURCE_CONFIG_KEYS, **BROADBAND_CONFIG_KEYS})
    return BroadbandOptions.from_config(cfg)


def default_attribution() -> str:
    """``ckanext.gelsenkirchen.broadband.default_attribution``."""
    try:
        import ckan.plugins.toolkit as tk
        return tk.config.get("ckanext.gelsenkirchen.broadband.default_attribution") \
            or DEFAULT_ATTRIBUTION
    except Exception:  # noqa: BLE001 - outside CKAN (unit tests, benchmark)
        return DEFAULT_ATTRIBUTION
