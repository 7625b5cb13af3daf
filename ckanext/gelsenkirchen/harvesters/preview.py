"""A dry run of a harvest source ("Vorschau", issue 16 item 3): download and
parse the source with the harvester's own code and the site's network
limits (the same as a run), and say what a run would publish, without
writing anything: rows read, valid and skipped with reasons, the
difference to the rows published now and whether the deletion guard would
stop it, and the new rows as GeoJSON for a map (drawn by the harvester's
own ``export_files``, so the map shows what the published file would).
``ckan gelsenkirchen harvest-preview SOURCE [--config JSON]``.
"""
from __future__ import annotations

import dataclasses
import json
from typing import Any

from ckanext.gelsenkirchen.harvesters import base, report
from ckanext.gelsenkirchen.harvesters import http as safe_http
from ckanext.gelsenkirchen.harvesters.config import ConfigError
from ckanext.gelsenkirchen.harvesters.source import ParseError
from ckanext.gelsenkirchen.logic.messages import Message, message, render

#: changed rows whose columns the preview lists
MAX_CHANGED_LISTED = 50
#: a source configuration to try (the form, the action)
MAX_CONFIG_CHARS = 20_000
#: new rows drawn on the preview's map (the counts above it are complete)
MAX_MAP_FEATURES = 2_000


@dataclasses.dataclass
class Preview:
    source: str
    error: Message | None = None
    report: report.Report | None = None
    changes: dict[str, int] = dataclasses.field(default_factory=dict)
    changed_columns: dict[str, list[str]] = dataclasses.field(default_factory=dict)
    guard: Message = ""
    #: the new rows that have a geometry, a GeoJSON FeatureCollection
    new_features: dict[str, Any] = dataclasses.field(default_factory=dict)

    def as_dict(self, lang: str = "en") -> dict[str, Any]:
        out: dict[str, Any] = {"source": self.source, "ok": self.error is None}
        if self.error is not None:
            out["error"] = render(self.error, lang)
            return out
        assert self.report is not None
        out.update(records_read=self.report.records_read, valid=self.report.published,
                   skipped=self.report.skipped_rows(lang),
                   warnings=self.report.warning_texts(lang), changes=self.changes,
                   changed_columns=self.changed_columns, new_features=self.new_features,
                   guard=render(self.guard, lang) if self.guard else None)
        return out

    def text(self, lang: str = "en") -> str:
        """The preview as lines for the terminal."""
        data = self.as_dict(lang)
        if not data["ok"]:
            return f"A run would fail: {data['error']}"
        changes = data["changes"]
        lines = [f"{data['records_read']} records read, {data['valid']} valid, "
                 f"{len(data['skipped'])} skipped",
                 f"compared with the published rows: +{changes['new']} new, "
                 f"~{changes['changed']} changed, -{changes['gone']} gone"]
        lines += [f"  changed {key}: {', '.join(columns)}"
                  for key, columns in data["changed_columns"].items()]
        lines += [f"  skipped row {s['row']}, id {s['id']}: {s['reason']}"
                  for s in data["skipped"]]
        lines += [f"  warning: {w}" for w in data["warnings"]]
        lines.append(f"The deletion guard would stop it: {data['guard']}" if data["guard"]
                     else "The deletion guard would let it publish.")
        return "\n".join(lines)


def harvester_of(source: Any) -> base.SnapshotHarvester:
    from ckan.plugins import PluginImplementations
    from ckanext.harvest.interfaces import IHarvester

    for harvester in PluginImplementations(IHarvester):
        if isinstance(harvester, base.SnapshotHarvester) \
                and harvester.info()["name"] == source.type:
            return harvester
    raise ValueError(f"source type {source.type!r} is not a harvester of this extension")


def _changed_columns(before: list[dict[str, Any]], after: list[dict[str, Any]],
                     keys: Any) -> dict[str, list[str]]:
    old = {key: row for row in before for key in keys([row])}
    out: dict[str, list[str]] = {}
    for row in after:
        for key in keys([row]):
            if key in old and old[key] != row and len(out) < MAX_CHANGED_LISTED:
                out[key] = sorted(c for c in set(row) | set(old[key])
                                  if row.get(c) != old[key].get(c))
    return out


def _new_features(harvester: base.SnapshotHarvester, snapshot: base.Snapshot,
                  published: list[dict[str, Any]]) -> dict[str, Any]:
    """The rows whose key is not published yet, as the harvester's GeoJSON
    file would show them (features without a geometry left out), at most
    :data:`MAX_MAP_FEATURES`."""
    old = harvester.guard_keys(published)
    new_rows = [row for row in snapshot.rows if harvester.guard_keys([row]) - old]
    subset = base.Snapshot(rows=new_rows, report=snapshot.report, meta=snapshot.meta)
    columns = [f["id"] for f in harvester.datastore_fields]
    collection = json.loads(harvester.export_files(subset, columns)["geojson"])
    features = [f for f in collection.get("features", []) if f.get("geometry")]
    return {"type": "FeatureCollection", "features": features[:MAX_MAP_FEATURES],
            "total": len(features)}


def preview(source: Any, config_text: str | None = None) -> Preview:
    """What a run of ``source`` (a HarvestSource) with its configuration,
    or ``config_text``, would publish now. Writes nothing."""
    harvester = harvester_of(source)
    result = Preview(source=source.id)
    try:
        cfg = harvester.load_config(source.config if config_text is None else config_text)
    except ConfigError as error:
        result.error = message(base.CONFIG_INVALID, error=str(error))
        return result
    try:
        download = harvester.download(source.url, cfg, safe_http.limits_from_config(), {})
    except (safe_http.FetchError, ParseError) as error:
        result.error = message(base.SOURCE_UNREACHABLE, error=str(error))
        return result
    try:
        snapshot = harvester.parse(download, cfg, harvester._parse_context(cfg, source))
    except ParseError as error:
        result.error = message(base.SOURCE_UNREADABLE, error=str(error))
        return result
    result.report = snapshot.report
    previous = harvester._current_object(source.id)
    alive = previous is not None and harvester._package_alive(previous.package_id)
    published = harvester.published_rows(source, previous) if alive else []
    result.changes = report.row_changes(published, snapshot.rows, harvester.guard_keys)
    result.changed_columns = _changed_columns(published, snapshot.rows, harvester.guard_keys)
    result.new_features = _new_features(harvester, snapshot, published)
    max_share = cfg.get("max_drop_share")
    if max_share is None:
        import ckan.plugins.toolkit as tk
        max_share = float(tk.config.get("ckanext.gelsenkirchen.harvest.max_drop_share", 0.3))
    blocked, reason = base.drop_check(harvester.guard_keys(published) if alive else None,
                                      harvester.guard_keys(snapshot.rows), max_share)
    if blocked:
        result.guard = reason
    return result


def preview_by_name(name_or_id: str, config_text: str | None = None) -> Preview:
    """:func:`preview` of the source named ``name_or_id`` (a harvest source
    is a dataset with the same id); ValueError for an unknown source."""
    from ckan import model
    from ckanext.harvest.model import HarvestSource

    dataset = model.Package.get(name_or_id)
    source = HarvestSource.get(dataset.id if dataset else name_or_id)
    if source is None:
        raise ValueError(f"no harvest source {name_or_id!r}")
    return preview(source, config_text)
