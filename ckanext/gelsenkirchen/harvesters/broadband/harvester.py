"""The broadband coverage harvester plugin (``gelsenkirchen_broadband_harvester``):
what the shared base needs to know of coverage sources (see the package
docstring).
"""
from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ckanext.gelsenkirchen import dataset_types, geography
from ckanext.gelsenkirchen.harvesters import datastore, publishing
from ckanext.gelsenkirchen.harvesters.base import (
    Download,
    ParseContext,
    Snapshot,
    SnapshotHarvester,
)
from ckanext.gelsenkirchen.harvesters.config import (
    ConfigError,
)
from ckanext.gelsenkirchen.harvesters.report import Report
from ckanext.gelsenkirchen.harvesters.source import ParseError, formats, paging

from . import aggregation, exports, geopackage, history, readers
from .options import (
    BROADBAND_CONFIG_KEYS,
    DEFAULT_ATTRIBUTION,
    FORMATS,
    default_attribution,
    options_of,
)
from .scheme import record_to_row

if TYPE_CHECKING:
    from ckanext.harvest.model import HarvestObject, HarvestSource

log = logging.getLogger(__name__)

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
    formats = FORMATS
    own_config_keys = BROADBAND_CONFIG_KEYS

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
            result = readers.collect_pages(download.docs, opts, context.limits)
        elif fmt == "geojson":
            result = readers.read_geojson(body, opts, context.limits)
        elif fmt == "csv":
            result = readers.read_table_csv(body, opts)
        elif fmt == "xlsx":
            result = readers.read_xlsx(body, opts, context.limits)
        else:  # gpkg
            stadtteile = context.boundaries.of_level("stadtteil")
            if not stadtteile:
                raise ParseError(
                    "a grid is aggregated to the Stadtteile of the boundaries file: set "
                    "ckanext.gelsenkirchen.boundaries_file (there are no boundaries without it)")
            grid, parsed = geopackage.read_geopackage(body, opts, context.limits)
            result = aggregation.aggregate_grid(grid, parsed, stadtteile, opts)
            if context.boundaries.approximate:
                result.notes.append(
                    "Stadtteil figures were computed against APPROXIMATE boundaries (set "
                    "ckanext.gelsenkirchen.boundaries_file to the official ones)")
        records = aggregation.with_city_rows(result.records, opts.ags)
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
                  "geometries": exports.geometries_json(geometries)})

    # -- history, guard, files, fields ----------------------------------------

    def published_rows(self, source: HarvestSource,
                       previous: HarvestObject | None) -> list[dict[str, Any]]:
        """Every row of the DataStore table (all reference dates)."""
        resource_id = publishing.stable_ids(source)["data"]
        try:
            return datastore.read_rows(resource_id, self.datastore_fields) or []
        except Exception:  # noqa: BLE001 - no DataStore at all
            log.exception("Could not read the published rows of %s", resource_id)
            return self._rows_of(previous)

    def rows_to_publish(self, snapshot_rows: list[dict[str, Any]],
                        published_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The snapshot's reference dates replace theirs; the others stay."""
        return history.merge_history(published_rows, snapshot_rows)[0]

    def guard_keys(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """The areas at the latest reference date (the city row aside)."""
        latest = history.latest_date(rows)
        return {str(r["area_id"]) for r in rows
                if r["reference_date"] == latest and r.get("area_level") != "stadt"}

    def publish(self, harvest_object: HarvestObject, source: HarvestSource, cfg: dict[str, Any],
                snapshot: Snapshot,
                previous_rows: list[dict[str, Any]]) -> str:
        merged, dates = history.merge_history(previous_rows, snapshot.rows)
        snapshot.rows = merged
        snapshot.meta["history"] = dates
        report = snapshot.report
        report.count("rows in the table", len(merged))
        if dates["added_dates"]:
            report.warn("reference date(s) added: " + ", ".join(dates["added_dates"]))
        if dates["replaced_dates"]:
            report.warn("reference date(s) replaced: " + ", ".join(dates["replaced_dates"]))
        if dates["kept_dates"]:
            report.count("earlier reference dates kept", len(dates["kept_dates"]))
        return super().publish(harvest_object, source, cfg, snapshot, previous_rows)

    def export_files(self, snapshot: Snapshot, columns: Sequence[str]) -> dict[str, bytes]:
        return {
            "geojson": exports.rows_geojson(snapshot.rows, snapshot.meta.get("geometries") or {},
                                    snapshot.meta.get("attribution") or DEFAULT_ATTRIBUTION),
            "csv": exports.rows_csv(snapshot.rows),
        }

    def dataset_fields(self, snapshot: Snapshot, cfg: dict[str, Any]) -> dict[str, Any]:
        fields = {k: v for k, v in history.city_figures(snapshot.rows).items() if v is not None}
        fields["source_attribution"] = (snapshot.meta.get("attribution")
                                        or DEFAULT_ATTRIBUTION)
        points = []
        for geometry in (snapshot.meta.get("geometries") or {}).values():
            try:
                minx, miny, maxx, maxy = exports.extent(geometry)
            except ValueError:
                continue
            points += [(minx, miny), (maxx, maxy)]
        spatial = geography.spatial_geojson(points)
        if spatial:
            fields["spatial"] = spatial
        return fields

    def creation_defaults(self, source: HarvestSource, cfg: dict[str, Any]) -> dict[str, Any]:
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
