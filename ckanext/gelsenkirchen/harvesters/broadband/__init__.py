"""Harvester of broadband and fibre coverage sources (``broadband-coverage``).

Built on the shared :class:`~.base.SnapshotHarvester` (configuration
checks, safe HTTP, unchanged detection, deletion guard, job report,
publishing); this module adds what is particular to coverage sources:

* the formats (GeoJSON, OGC API Features, WFS 2.0, ArcGIS REST
  FeatureServer, CSV, XLSX, GeoPackage grids) read by the pure functions of
  :mod:`.readers` and :mod:`.geopackage`;
* history: the DataStore table keeps one row per area and reference date
  over all runs. A run replaces the rows of the reference dates its source
  contains and keeps the rows of every other date;
* the deletion guard compares the areas of the latest reference date;
* the GeoJSON file shows the areas (polygons) at the latest reference date,
  the CSV file has every row;
* the derived fields are the city's figures at the latest reference date
  (household-weighted).

Modules, one concern each: ``options`` (the source configuration),
``scheme`` (attribute names, record checks), ``readers`` (GeoJSON, paged
sources, CSV, XLSX), ``geopackage`` (grids), ``aggregation`` (grid to
Stadtteile and city, city rows), ``history`` (reference dates across runs,
the latest figures), ``exports`` (CSV and GeoJSON files) and ``harvester``
(the plugin).
"""
from __future__ import annotations

from .harvester import BroadbandCoverageHarvester

__all__ = ["BroadbandCoverageHarvester"]
