"""The work one harvest source may cause while it is parsed, beyond the
download limits of :mod:`..http`: a source is untrusted, and a few bytes
can describe a geometry or a database that takes hours and gigabytes to
process. The site sets these in its configuration (``config_declaration.yaml``,
``ckanext.gelsenkirchen.harvest.*``); a source configuration cannot raise them.
"""
from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

PREFIX = "ckanext.gelsenkirchen.harvest."


@dataclasses.dataclass(frozen=True)
class ParseLimits:
    #: vertices of one feature's geometry
    max_feature_vertices: int = 100_000
    #: vertices of all geometries of one source (all pages)
    max_source_vertices: int = 5_000_000
    #: an invalid polygon is repaired (make_valid) only while its segments
    #: have at most this many pairs with overlapping bounding boxes: the
    #: repair's cost grows with the crossings, quadratic in the vertices
    #: for a self-intersecting "star"
    max_repair_pairs: int = 50_000
    #: seconds SQLite may spend on the queries of one GeoPackage
    geopackage_seconds: float = 60
    #: bytes of one GeoPackage value (text or blob)
    geopackage_max_value_bytes: int = 10_000_000
    #: bytes of an XLSX workbook once unpacked (all its ZIP members)
    xlsx_max_unpacked_bytes: int = 200_000_000
    #: unpacked to packed size of one XLSX member (a "ZIP bomb" compresses
    #: far better than any real workbook)
    xlsx_max_ratio: int = 200

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> ParseLimits:
        """The limits of a site's configuration (CKAN's ``config``); an
        option that is not set keeps its default."""
        values: dict[str, Any] = {}
        for item in dataclasses.fields(cls):
            raw = config.get(PREFIX + item.name)
            if raw not in (None, ""):
                values[item.name] = float(raw) if item.name.endswith("seconds") else int(raw)
        return cls(**values)


DEFAULT = ParseLimits()
