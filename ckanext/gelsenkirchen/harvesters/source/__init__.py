"""The source toolkit: how every harvester reads what a source sends.

One rule for each question a harvester asks of a source, shared by the
WiFi and the broadband harvester (and the next one):

``text``      bytes to text (encoding), CSV tables, column-name folding
``numbers``   numbers under a decimal rule (``comma`` or ``point``), configured
              per source or detected from the data
``jsondoc``   JSON documents, GeoJSON FeatureCollections, a feature's identity
``formats``   which format a source is (one rule for WFS, OGC API, ArcGIS, files)
``paging``    OGC API Features, WFS and ArcGIS paging with one stop rule
``crs``       coordinate reference systems and reprojection to WGS 84
``esri``      ArcGIS Esri JSON answers as GeoJSON FeatureCollections

Everything here is pure: no CKAN, no database, and the network only through
the fetch function a harvester passes to :mod:`.paging`.
"""
from __future__ import annotations


class ParseError(ValueError):
    """The source is not valid data of the expected format; the message says
    why, for the job report."""
