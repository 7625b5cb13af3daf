"""Shared base of "one source -> one published dataset" harvesters.

A subclass of :class:`SnapshotHarvester` describes *what* a source contains:

* ``info()`` (name, title, description), ``dataset_type``;
* ``datastore_fields`` (the stable DataStore column set; ``id`` is the
  primary key) and ``resource_titles``;
* ``config_keys()`` / ``check_config()`` for its source configuration;
* ``download()`` when a source needs more than one request (paging);
* ``parse(download, cfg, context)`` -> :class:`Snapshot` (pure: rows typed
  as the DataStore columns, plus a :class:`Report` of skipped rows);
* ``dataset_fields(snapshot, cfg)`` -> derived dataset fields.

The base does everything else, the same way for every harvester:

gather
    Validates the configuration, downloads the source with network safety
    (:mod:`.http`) and a conditional request, and detects an unchanged source
    (304, or the same content hash over the downloaded bytes, the source
    configuration and the harvester version). An unchanged source gives one
    harvest object reported as "not modified". Otherwise the source is
    parsed; download and parse failures are gather errors that end the job,
    and nothing published is touched. The snapshot (rows + report) is the
    harvest object's content.
fetch
    Writes the report: the skipped rows (row number / feature id and reason)
    and warnings as harvest object errors, which the job page lists.
import
    Applies the deletion guard (an empty snapshot, or one dropping more than
    ``max_drop_share`` of the published rows, is not published unless the
    source configuration has ``"accept_drop": true``, which is removed again
    after the run that used it), then publishes: the dataset (created or
    updated as the site user, with stable dataset and resource ids), the
    DataStore table of the main resource (rows replaced in one transaction),
    GeoJSON and CSV files uploaded through CKAN's uploader, a link to the
    original source, the derived fields and provenance.
"""
from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import json
import logging
import re
import time
import uuid
from collections.abc import Sequence
from typing import Any

from ckanext.harvest.harvesters.base import HarvesterBase

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters import config as config_rules
from ckanext.gelsenkirchen.harvesters import http as safe_http
from ckanext.gelsenkirchen.harvesters.config import (
    BASE_CONFIG_KEYS,
    SOURCE_CONFIG_KEYS,
    ConfigError,
    ConfigKey,
)
from ckanext.gelsenkirchen.harvesters.report import Report
from ckanext.gelsenkirchen.harvesters.source import ParseError, formats, paging

log = logging.getLogger(__name__)

# Bump when the mapping changes so unchanged sources are published again.
BASE_VERSION = "1"
NAMESPACE = uuid.UUID("5b0c6f64-6a43-4b0e-9a1f-0c1e9f6b7a10")
MAX_REPORTED_ROWS = 200
JSON_ACCEPT = "application/geo+json, application/json;q=0.9, */*;q=0.5"


@dataclasses.dataclass
class Download:
    url: str
    pages: list[safe_http.Response]
    not_modified: bool = False
    #: the source format (configured or detected, see source/formats.py)
    fmt: str = ""
    #: the pages of a paged source, decoded as GeoJSON FeatureCollections
    docs: list[dict[str, Any]] = dataclasses.field(default_factory=list)

    @property
    def first(self) -> safe_http.Response:
        return self.pages[0]

    @property
    def etag(self) -> str | None:
        return self.pages[0].etag if self.pages else None

    @property
    def last_modified(self) -> str | None:
        return self.pages[0].last_modified if self.pages else None


@dataclasses.dataclass
class Snapshot:
    rows: list[dict[str, Any]]
    report: Report
    meta: dict[str, Any] = dataclasses.field(default_factory=dict)

    def to_json(self) -> str:
        return json.dumps({"rows": self.rows, "report": self.report.to_dict(), "meta": self.meta},
                          ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> Snapshot:
        data = json.loads(text)
        return cls(rows=data["rows"], report=Report.from_dict(data.get("report", {})),
                   meta=data.get("meta", {}))


@dataclasses.dataclass
class ParseContext:
    """What parsing needs from the site: the accepted area and boundaries."""
    city_bbox: tuple[float, float, float, float] = geography.CITY_BBOX
    boundaries: geography.Boundaries = dataclasses.field(default_factory=geography.Boundaries)
    source_name: str = ""  # the harvest source's name, for provenance columns


# ---------------------------------------------------------------- exports (pure)

# A spreadsheet runs a cell starting with one of these as a formula
# (CSV injection); signed numbers and phone numbers stay as they are.
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_NUMBER_LIKE = re.compile(r"[+-]?[\d\s.,/()+-]*")


def csv_cell(value: Any) -> Any:
    """``value`` for a CSV download: text that a spreadsheet would run as a
    formula gets a leading apostrophe, which spreadsheets show as text."""
    if isinstance(value, str) and value.startswith(_FORMULA_START) \
            and not _NUMBER_LIKE.fullmatch(value):
        return "'" + value
    return value


def rows_to_csv(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> bytes:
    """The rows as UTF-8 CSV with a header; text verbatim except that
    formula-like cells are neutralised (csv_cell)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow(["" if row.get(c) is None else csv_cell(row.get(c)) for c in columns])
    return out.getvalue().encode("utf-8")


def rows_to_geojson(rows: Sequence[dict[str, Any]], columns: Sequence[str],
                    lon: str = "longitude", lat: str = "latitude") -> bytes:
    """The rows as a GeoJSON FeatureCollection of points (RFC 7946)."""
    features = []
    for row in rows:
        geometry = None
        if row.get(lon) is not None and row.get(lat) is not None:
            geometry = {"type": "Point", "coordinates": [row[lon], row[lat]]}
        features.append({"type": "Feature", "id": row.get("id"), "geometry": geometry,
                         "properties": {c: row.get(c) for c in columns}})
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def drop_check(published_ids: set[str] | None, new_ids: set[str],
               max_share: float) -> tuple[bool, str]:
    """The deletion guard. Returns (blocked, message)."""
    if not new_ids:
        return True, (f"the snapshot is empty (0 valid rows; {len(published_ids or ())} "
                      "published)")
    if not published_ids:
        return False, ""
    dropped = len(published_ids - new_ids)
    share = dropped / len(published_ids)
    if share > max_share:
        return True, (f"the snapshot would drop {dropped} of {len(published_ids)} published rows "
                      f"({share:.0%}, more than the allowed {max_share:.0%}); it has "
                      f"{len(new_ids)} rows, {len(new_ids - published_ids)} of them new")
    return False, ""


# ---------------------------------------------------------------- harvester

class SnapshotHarvester(HarvesterBase):
    """Base class; see the module docstring. Not a plugin by itself."""

    dataset_type = "dataset"
    version = "1"
    #: DataStore columns: [{"id", "type", "info": {"label", "notes"}}]; "id" is the key.
    datastore_fields: list[dict[str, Any]] = []
    primary_key = "id"
    resource_titles = {
        "data": "Data (table)",
        "geojson": "GeoJSON",
        "csv": "CSV",
        "source": "Original source",
    }
    file_basename = "data"
    accept = "*/*"
    #: the source formats (source/formats.py) this harvester reads
    formats: tuple[str, ...] = ()
    #: the configuration keys of this harvester's own (config.ConfigKey)
    own_config_keys: dict[str, ConfigKey] = {}

    # -- subclass hooks ------------------------------------------------------

    def config_keys(self) -> dict[str, ConfigKey]:
        """The keys of a source configuration: the base's, the source
        toolkit's and the harvester's :attr:`own_config_keys`."""
        return {**BASE_CONFIG_KEYS, **SOURCE_CONFIG_KEYS, **self.own_config_keys}

    def check_config(self, cfg: dict[str, Any]) -> None:
        """Cross-key checks of a subclass; raise ConfigError naming the key."""

    def paging_options(self, cfg: dict[str, Any]) -> paging.PagingOptions:
        """How a paged source of this harvester is paged."""
        return paging.PagingOptions(page_limit=cfg.get("page_limit", 100))

    def download(self, url: str, cfg: dict[str, Any], limits: safe_http.Limits,
                 previous: dict[str, str]) -> Download:
        """Fetch the source: every page of a paged source (OGC API, WFS,
        ArcGIS), else one conditional GET. The format is the configured one,
        else detected (source/formats.py)."""
        configured = cfg.get("format") if cfg.get("format") not in (None, "auto") else None
        fmt = configured or formats.service_format(url)
        if fmt in formats.PAGED:
            self._check_format(fmt)
            pages = paging.fetch_pages(fmt, url, lambda page_url: self.fetch_url(
                page_url, limits, accept=JSON_ACCEPT), self.paging_options(cfg))
            return Download(url=url, pages=[p.response for p in pages], fmt=fmt,
                            docs=[p.doc for p in pages])
        response = self.fetch_url(url, limits, etag=previous.get("etag"),
                                  last_modified=previous.get("last_modified"))
        if response.not_modified:
            return Download(url=url, pages=[response], not_modified=True, fmt=fmt or "")
        fmt = configured or formats.detect_format(url, response.body, response.content_type)
        self._check_format(fmt)
        return Download(url=url, pages=[response], fmt=fmt or "")

    def _check_format(self, fmt: str | None) -> None:
        if fmt not in self.formats:
            raise ParseError(f"the source looks like {fmt or 'an unknown format'}, which this "
                             f"harvester does not read ({', '.join(self.formats)}); set "
                             "\"format\" in the source configuration")

    def parse(self, download: Download, cfg: dict[str, Any], context: ParseContext) -> Snapshot:
        raise NotImplementedError

    def dataset_fields(self, snapshot: Snapshot, cfg: dict[str, Any]) -> dict[str, Any]:
        return {}

    def published_rows(self, source: Any, previous: Any) -> list[dict[str, Any]]:
        """The rows published now (compared by the deletion guard and put back
        if publishing fails); default: the previous snapshot's rows. A
        harvester that keeps history across runs reads its DataStore table."""
        return self._rows_of(previous)

    def guard_keys(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """The keys the deletion guard compares; default: the primary key."""
        return {str(r["id"]) for r in rows}

    def export_files(self, snapshot: Snapshot, columns: Sequence[str]) -> dict[str, bytes]:
        """The GeoJSON and CSV files of a snapshot; default: points of the rows."""
        return {
            "geojson": rows_to_geojson(snapshot.rows, columns),
            "csv": rows_to_csv(snapshot.rows, columns),
        }

    # -- helpers for subclasses ------------------------------------------------

    def fetch_url(self, url: str, limits: safe_http.Limits, **kwargs: Any) -> safe_http.Response:
        """A safe GET that also refuses HTML pages and empty bodies."""
        response = safe_http.fetch(url, limits, accept=kwargs.pop("accept", self.accept), **kwargs)
        if response.not_modified:
            return response
        if safe_http.looks_like_html(response.body, response.content_type):
            title = safe_http.html_title(response.body)
            raise safe_http.FetchError(
                f"the source answered HTTP {response.status} with an HTML page"
                + (f" ({title!r})" if title else "") + " instead of data; an error or login page?")
        if not response.body.strip():
            raise safe_http.FetchError(f"the source answered HTTP {response.status} with an empty body")
        return response

    # -- configuration ---------------------------------------------------------

    def load_config(self, text: str | None) -> dict[str, Any]:
        cfg = config_rules.load(text, self.config_keys())
        self.check_config(cfg)
        return cfg

    def validate_config(self, config: str) -> str:
        self.load_config(config)
        return config

    # -- IHarvester ------------------------------------------------------------

    def get_original_url(self, harvest_object_id: str) -> str | None:
        from ckanext.harvest.model import HarvestObject
        obj = HarvestObject.get(harvest_object_id)
        return obj.source.url if obj else None

    def gather_stage(self, harvest_job: Any) -> list[str] | None:
        from ckanext.harvest.model import HarvestObject, HarvestObjectExtra

        source = harvest_job.source
        started = time.monotonic()
        try:
            cfg = self.load_config(source.config)
        except ConfigError as error:
            self._save_gather_error(f"Invalid source configuration: {error}", harvest_job)
            return None
        previous = self._current_object(source.id)
        prev_extras = self._extras(previous) if previous else {}
        alive = bool(previous) and self._package_alive(previous.package_id)
        conditional = prev_extras if alive else {}
        limits = safe_http.limits_from_config()
        try:
            download = self.download(source.url, cfg, limits, conditional)
        except (safe_http.FetchError, ParseError) as error:
            self._save_gather_error(f"The source could not be harvested: {error}. "
                                    "The published dataset was not changed.", harvest_job)
            return None
        guid = self._guid(source)
        if download.not_modified and alive:
            return [self._unchanged_object(harvest_job, guid, previous,
                                           "the source answered 304 Not Modified")]
        digest = safe_http.content_hash(
            [BASE_VERSION, self.version, json.dumps(cfg, sort_keys=True)]
            + [page.body for page in download.pages])
        if alive and digest == prev_extras.get("content_hash"):
            return [self._unchanged_object(harvest_job, guid, previous,
                                           "the content is unchanged (same content hash)")]
        fetched = time.monotonic()
        try:
            snapshot = self.parse(download, cfg, self._parse_context(cfg, source))
        except ParseError as error:
            self._save_gather_error(f"The source could not be read: {error}. "
                                    "The published dataset was not changed.", harvest_job)
            return None
        snapshot.meta.setdefault("format", download.fmt)
        snapshot.meta.setdefault("resource_format", formats.resource_format(download.fmt))
        snapshot.meta["timings"] = {"download_s": round(fetched - started, 3),
                                    "parse_s": round(time.monotonic() - fetched, 3)}
        snapshot.meta["source_url"] = source.url
        snapshot.meta["final_url"] = download.pages[-1].url if download.pages else source.url
        snapshot.meta["pages"] = len(download.pages)
        extras = {"status": "new", "content_hash": digest,
                  "etag": download.etag or "", "last_modified": download.last_modified or ""}
        obj = HarvestObject(guid=guid, job=harvest_job, content=snapshot.to_json(),
                            extras=[HarvestObjectExtra(key=k, value=v) for k, v in extras.items()])
        obj.save()
        return [obj.id]

    def fetch_stage(self, harvest_object: Any) -> bool | str:
        from ckan import model
        from ckanext.harvest.model import HarvestObjectError

        extras = self._extras(harvest_object)
        if extras.get("status") == "unchanged":
            return "unchanged"
        try:
            snapshot = Snapshot.from_json(harvest_object.content)
        except (TypeError, ValueError, KeyError):
            self._save_object_error("The harvested snapshot could not be read", harvest_object, "Fetch")
            return False
        report = snapshot.report
        errors = [HarvestObjectError(message=s.message(), object=harvest_object, stage="Fetch",
                                     line=s.row)
                  for s in report.skipped[:MAX_REPORTED_ROWS]]
        if len(report.skipped) > MAX_REPORTED_ROWS:
            errors.append(HarvestObjectError(
                message=f"... and {len(report.skipped) - MAX_REPORTED_ROWS} more skipped rows "
                        "(the full list is in the harvest object's 'report' extra)",
                object=harvest_object, stage="Fetch"))
        errors += [HarvestObjectError(message=f"Warning: {w}", object=harvest_object, stage="Fetch")
                   for w in report.warnings]
        if errors:
            model.Session.add_all(errors)
            model.Session.commit()
        return True

    def import_stage(self, harvest_object: Any) -> bool | str:
        from ckan import model

        extras = self._extras(harvest_object)
        if extras.get("status") == "unchanged":
            return "unchanged"
        source = harvest_object.source
        try:
            cfg = self.load_config(source.config)
            snapshot = Snapshot.from_json(harvest_object.content)
        except (ConfigError, TypeError, ValueError, KeyError) as error:
            self._save_object_error(f"Import failed: {error}", harvest_object, "Import")
            return False
        previous = self._current_object(source.id, exclude=harvest_object.id)
        previous_rows = self.published_rows(source, previous)
        published_ids = (self.guard_keys(previous_rows)
                         if previous and self._package_alive(previous.package_id) else None)
        new_ids = self.guard_keys(snapshot.rows)
        import ckan.plugins.toolkit as tk
        max_share = cfg.get("max_drop_share")
        if max_share is None:
            max_share = float(tk.config.get("ckanext.gelsenkirchen.harvest.max_drop_share", 0.3))
        blocked, reason = drop_check(published_ids, new_ids, max_share)
        accepted = bool(cfg.get("accept_drop"))
        if blocked and not accepted:
            self._save_object_error(
                f"Deletion guard: {reason}. The snapshot was NOT published; the dataset keeps its "
                f"{len(published_ids or ())} rows. If the drop is intended, set \"accept_drop\": true "
                "in the source configuration and run the harvest again.",
                harvest_object, "Import")
            self._set_extra(harvest_object, "report", json.dumps(
                {**snapshot.report.to_dict(), "guard": reason}, ensure_ascii=False))
            return False
        if blocked:
            snapshot.report.warn(f"accept_drop: published although {reason}")
        started = time.monotonic()
        try:
            package_id = self.publish(harvest_object, source, cfg, snapshot, previous_rows)
        except Exception as error:  # noqa: BLE001 - any failure must end as a job error
            log.exception("Publishing harvest object %s failed", harvest_object.id)
            model.Session.rollback()
            self._save_object_error(f"Publishing failed: {_describe(error)}. The published dataset "
                                    "was left as it was.", harvest_object, "Import")
            return False
        snapshot.meta.setdefault("timings", {})["publish_s"] = round(time.monotonic() - started, 3)
        from ckanext.harvest.model import HarvestObject
        model.Session.query(HarvestObject).filter(
            HarvestObject.harvest_source_id == source.id,
            HarvestObject.current == True,  # noqa: E712
            HarvestObject.id != harvest_object.id).update({"current": False},
                                                          synchronize_session=False)
        harvest_object.package_id = package_id
        harvest_object.current = True
        harvest_object.add()
        self._set_extra(harvest_object, "report", json.dumps(
            {**snapshot.report.to_dict(), "timings": snapshot.meta.get("timings")},
            ensure_ascii=False), commit=False)
        model.Session.commit()
        if accepted:
            self._clear_accept_drop(source, cfg)
        log.info("Published %s rows of harvest source %s (%s)", len(snapshot.rows), source.id,
                 snapshot.report.summary())
        return True

    # -- publishing ------------------------------------------------------------

    def publish(self, harvest_object: Any, source: Any, cfg: dict[str, Any], snapshot: Snapshot,
                previous_rows: list[dict[str, Any]]) -> str:
        """Create or update the dataset, its DataStore table and files."""
        import ckan.plugins.toolkit as tk
        from werkzeug.datastructures import FileStorage

        user = self._get_user_name()
        ids = self.stable_ids(source)
        existing = self._package_or_none(ids["dataset"])
        columns = [f["id"] for f in self.datastore_fields]
        fields = self._fit_to_schema(self.dataset_fields(snapshot, cfg) | self.provenance(
            source, harvest_object, snapshot))
        defaults = dict(cfg.get("dataset_defaults") or {})
        initial = self.creation_defaults(source, cfg)
        title = cfg.get("dataset_title") or source.title or source.url
        managed = self._resources(source, ids, snapshot)
        if existing is None:
            pkg = {**initial, **defaults, "id": ids["dataset"], "type": self.effective_dataset_type(),
                   "name": self._free_name(cfg.get("dataset_name"), ids["dataset"], title,
                                           snapshot),
                   "title": title,
                   "notes": cfg.get("dataset_notes") or source.description or initial.get("notes", ""),
                   "owner_org": self._owner_org(source),
                   "resources": [{**managed["data"], "datastore_active": False}, managed["source"]],
                   **fields}
            self._prepare_new(pkg)
            existing = tk.get_action("package_create")(self._context(user), pkg)
        elif existing.get("state") != "active":
            existing = tk.get_action("package_patch")(
                self._context(user), {"id": existing["id"], "state": "active"})
        timings = snapshot.meta.setdefault("timings", {})
        # The DataStore first: one transaction, so a failure keeps the old rows.
        mark = time.monotonic()
        self.ensure_datastore(ids["data"], user)
        replace_rows(ids["data"], self.datastore_fields, snapshot.rows)
        timings["datastore_s"] = round(time.monotonic() - mark, 3)
        mark = time.monotonic()
        try:
            pkg = dict(existing)
            for key, value in initial.items():
                if pkg.get(key) in (None, "", []):
                    pkg[key] = value
            pkg.update(defaults)
            pkg.update(fields)
            pkg["title"] = title
            if cfg.get("dataset_notes"):
                pkg["notes"] = cfg["dataset_notes"]
            if cfg.get("dataset_name") and cfg["dataset_name"] != existing["name"]:
                pkg["name"] = self._free_name(cfg["dataset_name"], ids["dataset"], title,
                                              snapshot)
            others = [r for r in existing.get("resources", []) if r["id"] not in ids.values()]
            files = self.export_files(snapshot, columns)
            resources = []
            for role in ("data", "geojson", "csv", "source"):
                res = dict(managed[role])
                if role in files:
                    res["upload"] = FileStorage(
                        stream=io.BytesIO(files[role]),
                        filename=f"{self.file_basename}.{role}",
                        content_type="application/geo+json" if role == "geojson" else "text/csv")
                    res["size"] = len(files[role])
                resources.append(res)
            pkg["resources"] = resources + others
            timings["files_s"] = round(time.monotonic() - mark, 3)
            mark = time.monotonic()
            tk.get_action("package_update")(self._context(user), pkg)
            timings["package_update_s"] = round(time.monotonic() - mark, 3)
        except Exception:
            # keep the table and the dataset in step: put the old rows back
            try:
                replace_rows(ids["data"], self.datastore_fields, previous_rows)
            except Exception:  # noqa: BLE001
                log.exception("Could not restore the previous DataStore rows")
            raise
        self.ensure_views(ids["data"], user)
        return ids["dataset"]

    def _free_name(self, wanted: str | None, dataset_id: str, title: str,
                   snapshot: Snapshot) -> str:
        """``wanted`` (or a name from the title) unless another dataset or a
        harvest source already has it; then the next free variant."""
        from ckan import model

        if not wanted:
            return self._gen_new_name(title)
        taken = model.Package.get(wanted)
        if taken is None or taken.id == dataset_id:
            return wanted
        name = self._ensure_name_is_unique(wanted) or self._gen_new_name(title)
        snapshot.report.warn(f'the dataset name "{wanted}" is taken (by a dataset or a harvest '
                             f'source); the dataset is named "{name}"')
        return name

    def effective_dataset_type(self) -> str:
        """``dataset_type`` when a scheming schema defines it, else "dataset"."""
        return self.dataset_type if _scheming_schema(self.dataset_type) else "dataset"

    def stable_ids(self, source: Any) -> dict[str, str]:
        """Dataset and resource ids derived from the source id: stable across runs."""
        return {role: str(uuid.uuid5(NAMESPACE, f"{source.id}:{role}"))
                for role in ("dataset", "data", "geojson", "csv", "source")}

    def _resources(self, source: Any, ids: dict[str, str], snapshot: Snapshot) -> dict[str, dict]:
        fmt = snapshot.meta.get("resource_format") or ""
        return {
            "data": {"id": ids["data"], "name": self.resource_titles["data"],
                     "url": "_datastore_only_resource", "url_type": "datastore", "format": "CSV",
                     "datastore_active": True},
            "geojson": {"id": ids["geojson"], "name": self.resource_titles["geojson"],
                        "format": "GeoJSON", "mimetype": "application/geo+json"},
            "csv": {"id": ids["csv"], "name": self.resource_titles["csv"], "format": "CSV",
                    "mimetype": "text/csv"},
            "source": {"id": ids["source"], "name": self.resource_titles["source"],
                       "url": source.url, "format": fmt},
        }

    def provenance(self, source: Any, harvest_object: Any, snapshot: Snapshot) -> dict[str, Any]:
        """Provenance fields of the published dataset (the schema's
        ``provenance_*`` fields; dropped when the schema lacks them)."""
        return {
            "provenance_source_url": source.url,
            "provenance_harvest_source": self._source_name(source),
            "provenance_harvested_at": datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
            .isoformat(timespec="seconds"),
            "provenance_content_hash": self._extras(harvest_object).get("content_hash", ""),
        }

    def creation_defaults(self, source: Any, cfg: dict[str, Any]) -> dict[str, Any]:
        """Dataset fields set when the dataset is created, and on later runs
        only where the dataset has no value (editors may change them)."""
        import ckan.plugins.toolkit as tk
        from ckan import model

        org = model.Group.get(self._owner_org(source) or "")
        frequency = {"DAILY": "DAILY", "WEEKLY": "WEEKLY", "BIWEEKLY": "IRREG",
                     "MONTHLY": "MONTHLY", "ALWAYS": "CONT"}.get(source.frequency or "", "IRREG")
        publisher = (org.title if org else "") or tk.config.get(
            "ckanext.gelsenkirchen.default_publisher_name") or "Stadt Gelsenkirchen"
        return {
            "contact_name": publisher,
            "license_attribution_by_text": publisher,
            "contact_url": tk.config.get("ckanext.gelsenkirchen.default_publisher_url")
            or "https://www.gelsenkirchen.de/",
            "license_id": "dl-by-de/2.0",
            "frequency": frequency,
        }

    def _prepare_new(self, pkg: dict[str, Any]) -> None:
        """Hook to complete a new dataset dict (e.g. required schema fields)."""

    def ensure_datastore(self, resource_id: str, user: str) -> None:
        """Create the DataStore table with the stable columns (or add new ones)."""
        import ckan.plugins.toolkit as tk

        try:
            info = tk.get_action("datastore_info")(self._context(user), {"id": resource_id})
            present = {f["id"] for f in info.get("fields", [])}
        except (tk.ObjectNotFound, tk.ValidationError):
            present = set()
        wanted = {f["id"] for f in self.datastore_fields}
        if wanted <= present:
            return
        tk.get_action("datastore_create")(self._context(user), {
            "resource_id": resource_id, "force": True, "fields": self.datastore_fields,
            "primary_key": [self.primary_key], "calculate_record_count": False,
        })

    def ensure_views(self, resource_id: str, user: str) -> None:
        import ckan.plugins as p
        import ckan.plugins.toolkit as tk

        if not p.plugin_loaded("datatables_view"):
            return
        views = tk.get_action("resource_view_list")(self._context(user), {"id": resource_id})
        if not any(v["view_type"] == "datatables_view" for v in views):
            tk.get_action("resource_view_create")(self._context(user), {
                "resource_id": resource_id, "view_type": "datatables_view",
                "title": "Tabelle"})

    # -- internals -------------------------------------------------------------

    def _context(self, user: str) -> dict[str, Any]:
        from ckan import model
        return {"model": model, "session": model.Session, "user": user, "ignore_auth": True}

    def _source_name(self, source: Any) -> str:
        from ckan import model
        source_pkg = model.Package.get(source.id)
        return source_pkg.name if source_pkg else source.id

    def _owner_org(self, source: Any) -> str | None:
        from ckan import model
        source_pkg = model.Package.get(source.id)
        return (source_pkg.owner_org if source_pkg else None) or source.publisher_id or None

    def _guid(self, source: Any) -> str:
        return f"gelsenkirchen-harvest:{source.id}"

    def _parse_context(self, cfg: dict[str, Any], source: Any) -> ParseContext:
        return ParseContext(city_bbox=geography.accepted_area(cfg.get("bbox")),
                            boundaries=geography.boundaries(),
                            source_name=self._source_name(source))

    def _current_object(self, source_id: str, exclude: str | None = None) -> Any:
        from ckan import model
        from ckanext.harvest.model import HarvestObject

        query = model.Session.query(HarvestObject).filter(
            HarvestObject.harvest_source_id == source_id,
            HarvestObject.current == True)  # noqa: E712
        if exclude:
            query = query.filter(HarvestObject.id != exclude)
        return query.order_by(HarvestObject.import_finished.desc().nullslast()).first()

    @staticmethod
    def _extras(obj: Any) -> dict[str, str]:
        return {e.key: e.value for e in (obj.extras or [])} if obj is not None else {}

    @staticmethod
    def _set_extra(obj: Any, key: str, value: str, commit: bool = True) -> None:
        from ckan import model
        from ckanext.harvest.model import HarvestObjectExtra

        for extra in obj.extras:
            if extra.key == key:
                extra.value = value
                break
        else:
            obj.extras.append(HarvestObjectExtra(key=key, value=value))
        if commit:
            model.Session.commit()

    @staticmethod
    def _rows_of(obj: Any) -> list[dict[str, Any]]:
        if obj is None or not obj.content:
            return []
        try:
            return Snapshot.from_json(obj.content).rows
        except (ValueError, KeyError):
            return []

    def _package_alive(self, package_id: str | None) -> bool:
        from ckan import model
        if not package_id:
            return False
        pkg = model.Package.get(package_id)
        return bool(pkg and pkg.state == "active")

    def _package_or_none(self, package_id: str) -> dict[str, Any] | None:
        import ckan.plugins.toolkit as tk
        try:
            return tk.get_action("package_show")(
                self._context(self._get_user_name()), {"id": package_id})
        except tk.ObjectNotFound:
            return None

    def _unchanged_object(self, job: Any, guid: str, previous: Any, why: str) -> str:
        from ckanext.harvest.model import HarvestObject, HarvestObjectExtra
        obj = HarvestObject(guid=guid, job=job, package_id=previous.package_id,
                            extras=[HarvestObjectExtra(key="status", value="unchanged"),
                                    HarvestObjectExtra(key="reason", value=why)])
        obj.save()
        log.info("Harvest source %s unchanged: %s", job.source.id, why)
        return obj.id

    def _fit_to_schema(self, fields: dict[str, Any]) -> dict[str, Any]:
        """Keep fields the dataset schema knows; without a scheming schema for
        ``dataset_type`` the fields go to free extras as strings."""
        schema = _scheming_schema(self.dataset_type)
        if schema is None:  # our schema is not loaded: keep the figures as free extras
            extras = [{"key": k, "value": v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}
                      for k, v in fields.items() if v not in (None, "", [])]
            return {"extras": extras}
        known = {f["field_name"] for f in schema.get("dataset_fields", [])}
        unknown = sorted(set(fields) - known)
        if unknown:
            log.debug("Fields not in schema %s, not set: %s", self.dataset_type, unknown)
        return {k: v for k, v in fields.items() if k in known}

    def _clear_accept_drop(self, source: Any, cfg: dict[str, Any]) -> None:
        new_cfg = {k: v for k, v in cfg.items() if k != "accept_drop"}
        try:
            update_source_config(source.id, json.dumps(new_cfg, ensure_ascii=False, indent=2),
                                 self._context(self._get_user_name()))
        except Exception:  # noqa: BLE001
            log.exception("Could not remove accept_drop from the configuration of source %s",
                          source.id)


def update_source_config(source_id: str, config: str, context: dict[str, Any]) -> None:
    """Replace a harvest source's configuration (harvest_source_update with
    the source's own fields, as the edit form does)."""
    import ckan.plugins.toolkit as tk

    # not from the search index's cached copy, which lacks harvest fields
    shown = tk.get_action("harvest_source_show")({**context, "use_cache": False},
                                                 {"id": source_id})
    data = {key: shown.get(key) for key in ("id", "name", "title", "url", "notes", "source_type",
                                            "frequency", "owner_org") if shown.get(key) is not None}
    data["config"] = config
    tk.get_action("harvest_source_update")(dict(context), data)


def _scheming_schema(dataset_type: str) -> dict[str, Any] | None:
    try:
        from ckanext.scheming.helpers import scheming_get_dataset_schema
    except ImportError:
        return None
    try:
        return scheming_get_dataset_schema(dataset_type)
    except Exception:  # noqa: BLE001 - scheming not loaded
        return None


def _describe(error: Exception) -> str:
    import ckan.plugins.toolkit as tk
    if isinstance(error, tk.ValidationError):
        return f"validation error {error.error_summary or error.error_dict}"
    return f"{error.__class__.__name__}: {error}"[:500]


def replace_rows(resource_id: str, fields: Sequence[dict[str, Any]],
                 rows: Sequence[dict[str, Any]]) -> None:
    """Replace all rows of a DataStore table in one transaction.

    The rows travel as one JSON document and are expanded by PostgreSQL
    (``json_populate_recordset`` over the table's row type): one round trip
    for any number of rows; DataStore's full-text trigger fills ``_full_text``.
    A failure rolls back and leaves the previous rows in place.
    """
    import sqlalchemy as sa
    from ckanext.datastore.backend.postgres import get_write_engine, identifier

    table = identifier(resource_id)
    columns = ", ".join(identifier(f["id"]) for f in fields)
    payload = json.dumps([{f["id"]: row.get(f["id"]) for f in fields} for row in rows],
                         ensure_ascii=False, default=_json_default)
    with get_write_engine().begin() as conn:
        conn.execute(sa.text("SET LOCAL statement_timeout TO 120000"))
        conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - quoted identifier
        if rows:
            conn.execute(sa.text(
                f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608
                f"FROM json_populate_recordset(NULL::{table}, CAST(:rows AS json))"),
                {"rows": payload})


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")
