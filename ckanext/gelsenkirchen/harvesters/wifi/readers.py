"""Readers of hotspot sources: a CSV table, GeoJSON (a file, or the pages of an
OGC API Features or WFS source) and Freifunk meshviewer JSON, each to a
:class:`~ckanext.gelsenkirchen.harvesters.base.Snapshot` of rows and a
report. Pure: no CKAN, no database, no network.
"""
from __future__ import annotations

import json
import re
from typing import Any

from ckanext.gelsenkirchen.harvesters.base import ParseContext, Snapshot
from ckanext.gelsenkirchen.harvesters.report import Report
from ckanext.gelsenkirchen.harvesters.source import ParseError, crs
from ckanext.gelsenkirchen.harvesters.source.jsondoc import feature_collection, feature_id
from ckanext.gelsenkirchen.harvesters.source.text import read_csv
from ckanext.gelsenkirchen.logic.messages import N_

from .mapping import Mapper, clean_text


def parse_csv(data: bytes, cfg: dict[str, Any], source_name: str,
              context: ParseContext) -> Snapshot:
    table = read_csv(data, cfg.get("delimiter"), cfg.get("encoding"))
    report = Report()
    mapper = Mapper(table.header, cfg, source_name, context, report)
    for line, count in table.misfits:
        report.records_read += 1
        report.skip(N_("wrong number of fields: {count} instead of {expected}"), row=line,
                    count=count, expected=len(table.header))
    records: list[tuple[int, Any, dict[str, Any], tuple[Any, Any] | None]] = [
        (line, None, dict(zip(table.header, values, strict=True)), None)
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
    records: list[tuple[int, Any, dict[str, Any], tuple[Any, Any] | None]] = []
    for number, feature in enumerate(features, start=1):
        if not isinstance(feature, dict):
            report.records_read += 1
            report.skip(N_("not a GeoJSON Feature"), row=number)
            continue
        props: dict[str, Any] = feature["properties"] \
            if isinstance(feature.get("properties"), dict) else {}
        ident = feature_id(mapper.value(props, "id"), feature.get("id"))
        geometry = feature.get("geometry")
        xy: tuple[Any, Any] = (None, None)
        if isinstance(geometry, dict):
            coords = geometry.get("coordinates")
            if geometry.get("type") == "MultiPoint" and isinstance(coords, list) and len(coords) == 1:
                coords = coords[0]
            elif geometry.get("type") != "Point":
                report.records_read += 1
                report.skip(N_("unsupported geometry: {type} (a Point is expected)"),
                            row=number, feature_id=ident, type=repr(geometry.get("type")))
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
            report.skip(N_("not a node object"), row=number)
            continue
        nodeinfo = node.get("nodeinfo")
        if not isinstance(nodeinfo, dict):  # true, a list, a string: no nodeinfo
            nodeinfo = {}
        ident = node.get("node_id") or nodeinfo.get("node_id")
        location = node.get("location") or nodeinfo.get("location")
        if not isinstance(location, dict) or location.get("latitude") in (None, "") \
                or location.get("longitude") in (None, ""):
            without_location += 1
            report.records_read += 1
            report.skip(N_("node without location (not published)"), row=number,
                        feature_id=ident)
            continue
        online = node.get("is_online")
        if online is None and isinstance(node.get("flags"), dict):
            online = node["flags"].get("online")
        owner = clean_text(node.get("owner"))
        record = {
            "node_id": ident,
            "hostname": node.get("hostname") or nodeinfo.get("hostname"),
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
