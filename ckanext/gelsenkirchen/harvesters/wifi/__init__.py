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

Modules: ``mapping`` (target columns, vocabularies, the row builder),
``readers`` (CSV, GeoJSON pages, meshviewer) and ``harvester`` (the plugin
and its configuration keys). Reading is pure (no database); the plugin
only declares what the shared base needs.
"""
from __future__ import annotations

from .harvester import WifiHotspotHarvester

__all__ = ["WifiHotspotHarvester"]
