"""Harvester of broadband and fibre coverage sources (``broadband-coverage``).

Built on the shared :class:`~.base.SnapshotHarvester` (configuration
checks, safe HTTP, unchanged detection, deletion guard, job report,
publishing); this module adds what is particular to coverage sources:

* the formats (GeoJSON, OGC API Features, WFS 2.0, ArcGIS REST
  FeatureServer, CSV, XLSX, GeoPackage grids) read by the pure functions of
  :mod:`.broadband_formats`;
* history: the DataStore table keeps one row per area and reference date
  over all runs. A run replaces the rows of the reference dates its source
  contains and keeps the rows of every other date;
* the deletion guard compares the areas of the latest reference date;
* the GeoJSON file shows the areas (polygons) at the latest reference date,
  the CSV file has every row;
* the derived fields are the city's figures at the latest reference date
  (household-weighted).
"""
from __future__ import annotations

import datetime
import decimal
import json
import logging
from collections.abc import Mapping, Sequence
from typing import Any

from ckanext.gelsenkirchen import dataset_types, geography
from ckanext.gelsenkirchen.harvesters import broadband_formats as bf
from ckanext.gelsenkirchen.harvesters import config
from ckanext.gelsenkirchen.harvesters.base import (
    Download,
    ParseContext,
    Snapshot,
    SnapshotHarvester,
    rows_to_csv,
)
from ckanext.gelsenkirchen.harvesters.config import (
    BASE_CONFIG_KEYS,
    SOURCE_CONFIG_KEYS,
    ConfigError,
    ConfigKey,
    check_choice,
    check_text,
)
from ckanext.gelsenkirchen.harvesters.report import Report
from ckanext.gelsenkirchen.harvesters.source import ParseError, formats, paging

log = logging.getLogger(__name__)


COLUMNS = [f["id"] for f in dataset_types.BROADBAND_COLUMNS]
_INT_COLUMNS = {f["id"] for f in dataset_types.BROADBAND_COLUMNS if f["type"] == "int"}


# ---------------------------------------------------------------- configuration

def _check_fields(key: str, value: Any) -> None:
    for source_name, target in value.items():
        if not isinstance(target, str) or target not in bf.CANONICAL_FIELDS:
            raise ConfigError(
                f'"{key}": {source_name!r} maps to {target!r}, which is not a name of the '
                "scheme (down_fn_hh_<technology>_<Mbit/s>, households, area_id, area_name, "
                "area_level, reference_date, ags, schools_fibre, ...)")


def _check_reference_date(key: str, value: Any) -> None:
    if bf.normalise_reference_date(value) is None:
        raise ConfigError(f'"{key}": not a date (use YYYY-MM-DD or YYYY-MM)')


BROADBAND_CONFIG_KEYS: dict[str, ConfigKey] = {
    "format": ConfigKey((str,), "geojson, ogcapi, wfs, arcgis, csv, xlsx or gpkg "
                                "(default: detected from the URL and content)",
                        check_choice(bf.FORMATS)),
    "fields": ConfigKey((dict,), "source attribute -> scheme name, e.g. "
                                 '{"GIGABIT": "down_fn_hh_alle_1000"}', _check_fields),
    "reference_date": ConfigKey((str,), "reference date for rows without one (YYYY-MM-DD or "
                                        "YYYY-MM)", _check_reference_date),
    "area_level": ConfigKey((str,), "level of areas without one: stadt, stadtbezirk, "
                                    "stadtteil (default) or grid", check_choice(bf.LEVELS)),
    "attribution": ConfigKey((str,), "attribution text the source requires", check_text),
    "layer": ConfigKey((str,), "GeoPackage feature table (default: the only one)", check_text),
    "sheet": ConfigKey((str,), "XLSX worksheet (default: the first)", check_text),
    "where": ConfigKey((str,), "ArcGIS query where clause (default 1=1)", check_text),
    "arcgis_format": ConfigKey((str,), "ArcGIS answer format: geojson (default) or json",
                               check_choice(("geojson", "json"))),
    "ags": ConfigKey((str,), "municipality key of the city in a grid's ags column "
                             "(default 05513000)", check_text),
}


def options_of(cfg: Mapping[str, Any]) -> bf.BroadbandOptions:
    """The reading rules of a checked configuration, with the site's
    attribution where the source names none."""
    opts = bf.BroadbandOptions.from_config(cfg)
    if "attribution" not in cfg:
        opts.attribution = default_attribution()
    return opts


def parse_options(cfg: Mapping[str, Any]) -> bf.BroadbandOptions:
    """Check the broadband keys of ``cfg`` (ConfigError naming the key) and
    return its reading rules."""
    config.validate(cfg, {**SOURCE_CONFIG_KEYS, **BROADBAND_CONFIG_KEYS})
    return bf.BroadbandOptions.from_config(cfg)


def default_attribution() -> str:
    """``ckanext.gelsenkirchen.broadband.default_attribution``."""
    try:
        import ckan.plugins.toolkit as tk
        return tk.config.get("ckanext.gelsenkirchen.broadband.default_attribution") \
            or bf.DEFAULT_ATTRIBUTION
    except Exception:  # noqa: BLE001 - outside CKAN (unit tests, benchmark)
        return bf.DEFAULT_ATTRIBUTION


# ---------------------------------------------------------------- helpers (pure)



def record_to_row(record: bf.AreaRecord) -> dict[str, Any]:
    """A DataStore row, key ``<area_id>@<reference_date>`` (None values left
    out to keep snapshots small)."""
    row: dict[str, Any] = {
        "id": f"{record.area_id}@{record.reference_date}",
        "area_id": record.area_id, "area_name": record.area_name,
        "area_level": record.area_level, "reference_date": record.reference_date,
        "households": None if record.households is None else int(round(record.households)),
        "aggregated_from": record.aggregated_from,
        **record.measures, **record.counts,
    }
    return {k: v for k, v in row.items() if v is not None}


def latest_date(rows: Sequence[dict[str, Any]]) -> str | None:
    return max((r["reference_date"] for r in rows), default=None)


def merge_history(published: Sequence[dict[str, Any]],
                  new: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """History across runs: the new rows replace the published rows of
    their reference dates; rows of other dates are kept."""
    new_dates = {r["reference_date"] for r in new}
    old_dates = {r["reference_date"] for r in published}
    kept = [r for r in published if r["reference_date"] not in new_dates]
    merged = sorted([*kept, *new], key=lambda r: (
        r["reference_date"], bf.LEVELS.index(r.get("area_level", "stadtteil"))
        if r.get("area_level") in bf.LEVELS else 9, str(r["area_id"])))
    return merged, {
        "added_dates": sorted(new_dates - old_dates),
        "replaced_dates": sorted(new_dates & old_dates),
        "kept_dates": sorted(old_dates - new_dates),
        "kept_rows": len(kept),
    }


def rows_csv(rows: Sequence[dict[str, Any]]) -> bytes:
    """All rows, with the columns some row uses."""
    used = {k for r in rows for k in r}
    return rows_to_csv(rows, [c for c in COLUMNS if c in used and c != "id"])


def rows_geojson(rows: Sequence[dict[str, Any]], geometries: dict[str, Any],
                 attribution: str) -> bytes:
    """The areas at the latest reference date with their polygons."""
    latest = latest_date(rows)
    features = []
    for row in rows:
        if row["reference_date"] != latest:
            continue
        geometry = geometries.get(str(row["area_id"]))
        if geometry is None:
            continue
        features.append({"type": "Feature", "id": row["area_id"], "geometry": geometry,
                         "properties": {k: v for k, v in row.items()
                                        if k in dataset_types.BROADBAND_MAP_COLUMNS}})
    return json.dumps({"type": "FeatureCollection", "name": "breitbandversorgung",
                       "attribution": attribution, "reference_date": latest,
                       "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def city_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The derived fields of the broadband-coverage schema: the figures of
    the whole city at the latest reference date (the city row, which the
    harvester computes household-weighted when the source has none)."""
    latest = latest_date(rows)
    if latest is None:
        return {}
    of_latest = [r for r in rows if r["reference_date"] == latest]
    city = next((r for r in of_latest if r.get("area_level") == "stadt"), None)
    if city is None:
        return {"reference_date": latest}
    speeds = sorted({int(name.rsplit("_", 1)[1]) for r in of_latest for name in r
                     if name.startswith(bf.MEASURE_PREFIX)})

    def pct(name: str) -> float | None:
        value = city.get(name)
        return None if value is None else round(float(value), 2)

    ftthb = next((pct(f"{bf.MEASURE_PREFIX}ftthb_{s}") for s in bf.SPEEDS
                  if city.get(f"{bf.MEASURE_PREFIX}ftthb_{s}") is not None), None)
    figures: dict[str, Any] = {
        "reference_date": latest,
        "speed_classes": [f"ge{s}" for s in speeds if s >= 16],
        "households_50mbit_share": pct(f"{bf.MEASURE_PREFIX}alle_50"),
        "households_1gbit_share": pct(f"{bf.MEASURE_PREFIX}alle_1000"),
        "households_ftth_share": ftthb,
    }
    for kind in ("schools", "hospitals", "business_parks"):
        fibre, without = city.get(f"{kind}_fibre"), city.get(f"{kind}_no_fibre")
        if fibre is not None or without is not None:
            figures[f"{kind}_connected"] = int(fibre or 0)
            figures[f"{kind}_total"] = int(fibre or 0) + int(without or 0)
    return figures


def _clean_value(value: Any) -> Any:
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()[:10]
    return value


# ---------------------------------------------------------------- the plugin

class BroadbandCoverageHarvester(SnapshotHarvester):
    dataset_type = dataset_types.BROADBAND
    version = "1"
    datastore_fields = dataset_types.BROADBAND_COLUMNS
    file_basename = "breitbandversorgung"
    resource_titles = {
        "data": "Breitbandversorgung (Tabelle, alle Datenstände)",
        "geojson": "Breitbandversorgung (GeoJSON, aktueller Datenstand)",
        "csv": "Breitbandversorgung (CSV, alle Datenstände)",
        "source": "Originalquelle",
    }
    accept = ("application/geo+json, application/json;q=0.9, text/csv;q=0.9, "
              "application/geopackage+sqlite3;q=0.9, */*;q=0.5")
    formats = bf.FORMATS

    def info(self) -> dict[str, str]:
        return {
            "name": "gelsenkirchen_broadband",
            "title": "Breitbandversorgung (Breitbandatlas, GeoJSON, OGC API, WFS, ArcGIS, "
                     "CSV/XLSX, GeoPackage)",
            "description": "Publishes a broadband/fibre coverage source as one "
                           "broadband-coverage dataset with a DataStore table keeping every "
                           "reference date, GeoJSON and CSV files and the city's figures.",
        }

    # -- configuration -------------------------------------------------------

    def config_keys(self) -> dict[str, ConfigKey]:
        return {**BASE_CONFIG_KEYS, **SOURCE_CONFIG_KEYS, **BROADBAND_CONFIG_KEYS}

    def check_config(self, cfg: dict[str, Any]) -> None:
        """Keys that only apply to one format (each key's value is checked
        by its ConfigKey)."""
        fmt = cfg.get("format")
        if not fmt:
            return
        for key, only in (("where", "arcgis"), ("arcgis_format", "arcgis"), ("layer", "gpkg"),
                          ("sheet", "xlsx")):
            if key in cfg and fmt != only:
                raise ConfigError(f'"{key}" only applies to "format": "{only}"')

    # -- download and parse ----------------------------------------------------

    def paging_options(self, cfg: dict[str, Any]) -> paging.PagingOptions:
        """page_size features per page, also as the OGC API limit."""
        opts = options_of(cfg)
        return paging.PagingOptions(page_limit=opts.page_limit, page_size=opts.page_size,
                                    ogc_limit=opts.page_size, where=opts.where,
                                    arcgis_format=opts.arcgis_format)

    def parse(self, download: Download, cfg: dict[str, Any], context: ParseContext) -> Snapshot:
        opts = options_of(cfg)
        fmt = download.fmt
        body = download.first.body
        if fmt in formats.PAGED:
            result = bf.collect_pages(download.docs, opts)
        elif fmt == "geojson":
            result = bf.read_geojson(body, opts)
        elif fmt == "csv":
            result = bf.read_table_csv(body, opts)
        elif fmt == "xlsx":
            result = bf.read_xlsx(body, opts)
        else:  # gpkg
            stadtteile = context.boundaries.of_level("stadtteil")
            if not stadtteile:
                raise ParseError(
                    "a grid is aggregated to the Stadtteile of the boundaries file: set "
                    "ckanext.gelsenkirchen.boundaries_file (there are no boundaries without it)")
            grid, parsed = bf.read_geopackage(body, opts)
            result = bf.aggregate_grid(grid, parsed, stadtteile, opts)
            if context.boundaries.approximate:
                result.notes.append(
                    "Stadtteil figures were computed against APPROXIMATE boundaries (set "
                    "ckanext.gelsenkirchen.boundaries_file to the official ones)")
        records = bf.with_city_rows(result.records, opts.ags)
        report = Report()
        report.records_read = int(result.stats.get("cells") or result.stats.get("rows")
                                  or result.stats.get("features") or 0)
        report.published = len(result.records)
        report.skipped.extend(result.skipped)
        if result.stats.get("decimal"):
            report.rules["decimal"] = result.stats["decimal"]
        for note in result.notes:
            report.warn(note)
        dates = sorted({r.reference_date for r in records})
        report.count("reference dates", len(dates))
        if fmt == "gpkg":
            report.count("grid cells", int(result.stats.get("cells", 0)))
            report.count("grid cells in the city", int(result.stats.get("cells_in_city", 0)))
        geometries: dict[str, Any] = {}
        for record in sorted(records, key=lambda r: r.reference_date):
            if record.geometry is not None and not record.geometry.is_empty:
                geometries[record.area_id] = record.geometry
        return Snapshot(
            rows=[record_to_row(r) for r in records], report=report,
            meta={"format": fmt, "resource_format": "JSON" if fmt == "arcgis"
                  and opts.arcgis_format == "json" else formats.resource_format(fmt),
                  "attribution": opts.attribution, "reference_dates": dates,
                  "geometries": _geometries_json(geometries)})

    # -- history, guard, files, fields ----------------------------------------

    def published_rows(self, source: Any, previous: Any) -> list[dict[str, Any]]:
        """Every row of the DataStore table (all reference dates)."""
        import sqlalchemy as sa
        from ckanext.datastore.backend.postgres import get_write_engine, identifier

        resource_id = self.stable_ids(source)["data"]
        try:
            with get_write_engine().connect() as conn:
                if conn.execute(sa.text("SELECT to_regclass(:name)"),
                                {"name": identifier(resource_id)}).scalar() is None:
                    return []
                present = {r[0] for r in conn.execute(sa.text(
                    "SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
                    {"t": resource_id})}
                columns = [c for c in COLUMNS if c in present]
                result = conn.execute(sa.text(
                    f"SELECT {', '.join(identifier(c) for c in columns)} "  # noqa: S608
                    f"FROM {identifier(resource_id)}"))
                rows = []
                for values in result:
                    row = {}
                    for column, value in zip(columns, values, strict=True):
                        if value is None:
                            continue
                        value = _clean_value(value)
                        if column in _INT_COLUMNS:
                            value = int(value)
                        row[column] = value
                    rows.append(row)
                return rows
        except Exception:  # noqa: BLE001 - no DataStore table yet, or none at all
            log.exception("Could not read the published rows of %s", resource_id)
            return self._rows_of(previous)

    def guard_keys(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """The areas at the latest reference date (the city row aside)."""
        latest = latest_date(rows)
        return {str(r["area_id"]) for r in rows
                if r["reference_date"] == latest and r.get("area_level") != "stadt"}

    def publish(self, harvest_object: Any, source: Any, cfg: dict[str, Any], snapshot: Snapshot,
                previous_rows: list[dict[str, Any]]) -> str:
        merged, history = merge_history(previous_rows, snapshot.rows)
        snapshot.rows = merged
        snapshot.meta["history"] = history
        report = snapshot.report
        report.count("rows in the table", len(merged))
        if history["added_dates"]:
            report.warn("reference date(s) added: " + ", ".join(history["added_dates"]))
        if history["replaced_dates"]:
            report.warn("reference date(s) replaced: " + ", ".join(history["replaced_dates"]))
        if history["kept_dates"]:
            report.count("earlier reference dates kept", len(history["kept_dates"]))
        return super().publish(harvest_object, source, cfg, snapshot, previous_rows)

    def export_files(self, snapshot: Snapshot, columns: Sequence[str]) -> dict[str, bytes]:
        return {
            "geojson": rows_geojson(snapshot.rows, snapshot.meta.get("geometries") or {},
                                    snapshot.meta.get("attribution") or bf.DEFAULT_ATTRIBUTION),
            "csv": rows_csv(snapshot.rows),
        }

    def dataset_fields(self, snapshot: Snapshot, cfg: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in city_figures(snapshot.rows).items() if v is not None}
        fields["source_attribution"] = (snapshot.meta.get("attribution")
                                        or bf.DEFAULT_ATTRIBUTION)
        points = []
        for geometry in (snapshot.meta.get("geometries") or {}).values():
            try:
                minx, miny, maxx, maxy = _bounds(geometry)
            except ValueError:
                continue
            points += [(minx, miny), (maxx, maxy)]
        spatial = geography.spatial_geojson(points)
        if spatial:
            fields["spatial"] = spatial
        return fields

    def creation_defaults(self, source: Any, cfg: dict[str, Any]) -> dict[str, Any]:
        attribution = cfg.get("attribution") or default_attribution()
        return {
            **super().creation_defaults(source, cfg),
            "notes": ("Breitband- und Glasfaserversorgung in Gelsenkirchen je Gebiet und "
                      "Datenstand: Anteil der Haushalte mit mindestens 16 Mbit/s bis 1 Gbit/s "
                      "je Technologie (Schema des Breitbandatlas), Haushalte sowie Schulen, "
                      "Krankenhäuser und Gewerbegebiete mit und ohne Glasfaser. Jeder "
                      "Datenstand bleibt erhalten, so dass Entwicklungen sichtbar werden. "
                      "Automatisch aus der verlinkten Originalquelle übernommen (Harvesting). "
                      f"Quelle: {attribution}"),
            "theme": ["TECH"],
            "tag_string": "Breitband,Glasfaser,Gigabit,Internet",
            "license_attribution_by_text": attribution,
        }


def _geometries_json(geometries: dict[str, Any]) -> dict[str, Any]:
    """Polygons as GeoJSON geometries, coordinates rounded to 6 decimals
    (about 10 cm)."""
    import numpy as np
    import shapely

    if not geometries:
        return {}
    keys = list(geometries)
    rounded = shapely.transform(np.array([geometries[k] for k in keys], dtype=object),
                                lambda xy: np.round(xy, 6))
    texts = shapely.to_geojson(rounded)
    return {key: json.loads(text) for key, text in zip(keys, texts, strict=True)}


def _bounds(geometry: dict[str, Any]) -> tuple[float, float, float, float]:
    xs: list[float] = []
    ys: list[float] = []

    def walk(coords: Any) -> None:
        if coords and isinstance(coords[0], int | float):
            xs.append(coords[0])
            ys.append(coords[1])
        else:
            for part in coords or []:
                walk(part)
    walk(geometry.get("coordinates"))
    if not xs:
        raise ValueError("empty geometry")
    return min(xs), min(ys), max(xs), max(ys)
