"""The stages of a "one source -> one published dataset" harvester and
the contract of its subclasses.

A subclass of :class:`SnapshotHarvester` describes *what* a source contains:

* ``info()`` (name, title, description), ``dataset_type`` (dataset_types.py);
* ``datastore_fields`` (the stable DataStore column set; ``id`` is the
  primary key), ``resource_titles`` and ``file_basename``;
* ``formats`` (the source formats it reads, source/formats.py),
  ``own_config_keys`` and ``check_config()`` for its source configuration
  (config.py), ``paging_options()`` for its paged sources;
* ``parse(download, cfg, context)`` -> :class:`Snapshot` (pure: rows typed
  as the DataStore columns, plus a :class:`Report` of skipped rows; the
  source toolkit in source/ reads the bytes);
* ``dataset_fields(snapshot, cfg)`` -> the derived fields of its type;
* optionally ``creation_defaults()``, ``export_files()`` (default: points,
  exports.py), ``published_rows()`` and ``guard_keys()`` (default: the
  previous snapshot's rows and their ids) and ``publish()``.

The base runs the stages, the same way for every harvester:

gather
    Validates the configuration, downloads the source with network safety
    (:mod:`.http`): every page of a paged source (source/paging.py), else
    one conditional request; detects an unchanged source (304, or the same
    content hash over the downloaded bytes, the source configuration and
    the harvester version), which gives one harvest object reported as "not
    modified". Otherwise the source is parsed; download and parse failures
    are gather errors that end the job, and nothing published is touched.
    The snapshot (rows + report) is the harvest object's content.
fetch
    Writes the report: the skipped rows (row number / feature id and reason)
    and warnings as harvest object errors, which the job page lists.
import
    Applies the deletion guard (:func:`drop_check`: an empty snapshot, or
    one dropping more than ``max_drop_share`` of the published rows, is not
    published unless the source configuration has ``"accept_drop": true``,
    which is removed again after the run that used it), then publishes
    (publishing.py: the dataset, its DataStore table through datastore.py,
    the files, the source link, derived fields and provenance).
"""
from __future__ import annotations

import dataclasses
import json
import logging
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import ckan.plugins as p
from ckan.types import ChainedAction, Context
from ckanext.harvest.harvesters.base import HarvesterBase

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters import authority, exports, locking, publishing
from ckanext.gelsenkirchen.harvesters import config as config_rules
from ckanext.gelsenkirchen.harvesters import http as safe_http
from ckanext.gelsenkirchen.harvesters.config import (
    BASE_CONFIG_KEYS,
    SOURCE_CONFIG_KEYS,
    ConfigError,
    ConfigKey,
)
from ckanext.gelsenkirchen.harvesters.report import Report, row_changes
from ckanext.gelsenkirchen.harvesters.source import ParseError, formats, paging
from ckanext.gelsenkirchen.harvesters.source.limits import ParseLimits
from ckanext.gelsenkirchen.logic.messages import N_, Message, message, render

if TYPE_CHECKING:
    from ckanext.harvest.model import HarvestJob, HarvestObject, HarvestSource

log = logging.getLogger(__name__)

# Bump when the mapping changes so unchanged sources are published again.
BASE_VERSION = "1"
MAX_REPORTED_ROWS = 200
JSON_ACCEPT = "application/geo+json, application/json;q=0.9, */*;q=0.5"

# The job-level messages, English msgids of the catalogue. ckanext-harvest
# stores gather and object errors as plain text (shown on its pages and in
# the log in English); the operator page reads them back into msgid and
# parameters with messages.parse() to show them in the reader's language.
CONFIG_INVALID = N_("Invalid source configuration: {error}")
SOURCE_UNREACHABLE = N_("The source could not be harvested: {error}. "
                        "The published dataset was not changed.")
SOURCE_UNREADABLE = N_("The source could not be read: {error}. "
                       "The published dataset was not changed.")
GATHER_MESSAGES = (CONFIG_INVALID, SOURCE_UNREACHABLE, SOURCE_UNREADABLE)
SNAPSHOT_UNREADABLE = N_("The harvested snapshot could not be read")
IMPORT_FAILED = N_("Import failed: {error}")
PUBLISH_FAILED = N_("Publishing failed: {error}. The published dataset was left as it was.")
GUARD_STOPPED = N_("Deletion guard: {reason}. The snapshot was NOT published; the dataset "
                   "keeps its {published} rows. If the drop is intended, release it on the "
                   "source's operator page or set \"accept_drop\": true in the source "
                   "configuration, and run the harvest again.")
OBJECT_MESSAGES = (SNAPSHOT_UNREADABLE, IMPORT_FAILED, PUBLISH_FAILED, GUARD_STOPPED)
#: how many ids (and names) of the rows a stopped run would remove the report keeps
MAX_GUARD_IDS = 500


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
    #: the work parsing may cause (site configuration, not the source's)
    limits: ParseLimits = dataclasses.field(default_factory=ParseLimits)


def drop_check(published_ids: set[str] | None, new_ids: set[str],
               max_share: float) -> tuple[bool, Message]:
    """The deletion guard. Returns (blocked, message); "" when not blocked."""
    if not new_ids:
        return True, message(N_("the snapshot is empty (0 valid rows; {published} published)"),
                             published=len(published_ids or ()))
    if not published_ids:
        return False, ""
    dropped = len(published_ids - new_ids)
    share = dropped / len(published_ids)
    if share > max_share:
        return True, message(
            N_("the snapshot would drop {dropped} of {published} published rows ({share}%, "
               "more than the allowed {allowed}%); it has {rows} rows, {new} of them new"),
            dropped=dropped, published=len(published_ids), share=round(share * 100),
            allowed=round(max_share * 100), rows=len(new_ids), new=len(new_ids - published_ids))
    return False, ""


def guard_detail(published_rows: Sequence[dict[str, Any]], published_ids: set[str] | None,
                 new_ids: set[str], keys: Any) -> dict[str, Any]:
    """What a stopped run would remove: count, share and the first
    :data:`MAX_GUARD_IDS` ids with their names (``keys`` maps rows to
    guard keys, the harvester's :meth:`SnapshotHarvester.guard_keys`)."""
    published = published_ids or set()
    removed = sorted(published - new_ids)
    names: dict[str, str] = {}
    for row in published_rows:
        for key in keys([row]):
            if key in published and key not in new_ids and key not in names:
                names[key] = str(row.get("name") or row.get("area_name") or "")
    return {"published": len(published), "rows": len(new_ids), "removed_count": len(removed),
            "share": round(100 * len(removed) / len(published)) if published else 100,
            "removed": [{"id": key, "name": names.get(key, "")}
                        for key in removed[:MAX_GUARD_IDS]]}


# ---------------------------------------------------------------- harvester

class SnapshotHarvester(HarvesterBase):
    """Base class; see the module docstring. Not a plugin by itself."""

    # saving a source of this harvester checks what it may write (authority.py)
    p.implements(p.IActions)

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
        return {**BASE_CONFIG_KEYS, **SOURCE_CONFIG_KEYS, **self.own_config_keys,
                "dataset_defaults": config_rules.dataset_defaults_key(self.dataset_type)}

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

    def published_rows(self, source: HarvestSource,
                       previous: HarvestObject | None) -> list[dict[str, Any]]:
        """The rows published now (compared by the deletion guard and put back
        if publishing fails); default: the previous snapshot's rows. A
        harvester that keeps history across runs reads its DataStore table."""
        return self._rows_of(previous)

    def rows_to_publish(self, snapshot_rows: list[dict[str, Any]],
                        published_rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """The table a snapshot gives, given the table published now;
        default: the snapshot's rows (``ckan gelsenkirchen verify`` compares
        the DataStore table with this)."""
        return snapshot_rows

    def guard_keys(self, rows: Sequence[dict[str, Any]]) -> set[str]:
        """The keys the deletion guard compares; default: the primary key."""
        return {str(r["id"]) for r in rows}

    def export_files(self, snapshot: Snapshot, columns: Sequence[str]) -> dict[str, bytes]:
        """The GeoJSON and CSV files of a snapshot; default: points of the rows."""
        return {
            "geojson": exports.rows_to_geojson(snapshot.rows, columns),
            "csv": exports.rows_to_csv(snapshot.rows, columns),
        }

    def creation_defaults(self, source: HarvestSource, cfg: dict[str, Any]) -> dict[str, Any]:
        """Dataset fields set when the dataset is created, and on later runs
        only where the dataset has no value (editors may change them)."""
        return publishing.creation_defaults(source)

    def publish(self, harvest_object: HarvestObject, source: HarvestSource, cfg: dict[str, Any],
                snapshot: Snapshot,
                previous_rows: list[dict[str, Any]]) -> str:
        """Create or update the dataset, its DataStore table and files."""
        return publishing.publish(self, harvest_object, source, cfg, snapshot, previous_rows)

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

    def source_config(self, source: HarvestSource) -> dict[str, Any]:
        """The configuration of ``source`` as it is now, checked again as
        when it was saved (authority.py: also against the database), for a
        run: a configuration saved before a rule existed, or written
        straight into the database, is refused the same way."""
        cfg = self.load_config(source.config)
        authority.check_targets(cfg, source.id, publishing.owner_org(source))
        return cfg

    # -- IActions ---------------------------------------------------------------

    def get_actions(self) -> dict[str, ChainedAction]:
        return authority.source_actions(self)

    # -- IHarvester ------------------------------------------------------------

    def get_original_url(self, harvest_object_id: str) -> str | None:
        from ckanext.harvest.model import HarvestObject
        obj = HarvestObject.get(harvest_object_id)
        return obj.source.url if obj else None

    # Each stage ends what it did not expect (a bug, a fault) as a job or
    # object error rather than an exception, which would end the consumer.

    def gather_stage(self, harvest_job: HarvestJob) -> list[str] | None:
        try:
            return self._gather(harvest_job)
        except Exception as error:  # noqa: BLE001
            self._save_gather_error(_unexpected(error, "gathering", harvest_job.id), harvest_job)
            return None

    def fetch_stage(self, harvest_object: HarvestObject) -> bool | str:
        try:
            return self._fetch(harvest_object)
        except Exception as error:  # noqa: BLE001
            self._save_object_error(_unexpected(error, "fetching", harvest_object.id),
                                    harvest_object, "Fetch")
            return False

    def import_stage(self, harvest_object: HarvestObject) -> bool | str:
        """The import under the source's lock (locking.py): one run per
        source publishes at a time."""
        if self._extras(harvest_object).get("status") == "unchanged":
            return "unchanged"
        source = harvest_object.source
        try:
            with locking.source_lock(source.id, publishing.source_name(source)):
                return self._import(harvest_object)
        except locking.SourceBusy as busy:
            _rollback()
            message = (f"Not published: {busy}. The published dataset was not changed; the "
                       "next run publishes the source.")
        except Exception as error:  # noqa: BLE001
            message = _unexpected(error, "importing", harvest_object.id)
        self._save_object_error(message, harvest_object, "Import")
        return False

    def _gather(self, harvest_job: HarvestJob) -> list[str] | None:
        from ckanext.harvest.model import HarvestObject, HarvestObjectExtra

        source = harvest_job.source
        started = time.monotonic()
        try:
            cfg = self.source_config(source)
        except ConfigError as error:
            self._save_gather_error(CONFIG_INVALID.format(error=error), harvest_job)
            return None
        previous = self._current_object(source.id)
        prev_extras = self._extras(previous) if previous else {}
        alive = bool(previous) and self._package_alive(previous.package_id)
        conditional = prev_extras if alive else {}
        limits = safe_http.limits_from_config()
        try:
            download = self.download(source.url, cfg, limits, conditional)
        except (safe_http.FetchError, ParseError) as error:
            self._save_gather_error(SOURCE_UNREACHABLE.format(error=error), harvest_job)
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
            self._save_gather_error(SOURCE_UNREADABLE.format(error=error), harvest_job)
            return None
        except Exception:  # noqa: BLE001 - a programming error: logged, the consumer lives on
            log.exception("Parsing the source of harvest job %s failed", harvest_job.id)
            self._save_gather_error("The source could not be read because of an internal "
                                    "error (logged for the site administrators). The "
                                    "published dataset was not changed.", harvest_job)
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

    def _fetch(self, harvest_object: HarvestObject) -> bool | str:
        from ckan import model
        from ckanext.harvest.model import HarvestObjectError

        extras = self._extras(harvest_object)
        if extras.get("status") == "unchanged":
            return "unchanged"
        try:
            snapshot = Snapshot.from_json(harvest_object.content)
        except (TypeError, ValueError, KeyError):
            self._save_object_error(SNAPSHOT_UNREADABLE, harvest_object, "Fetch")
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
                   for w in report.warning_texts("en")]
        if errors:
            model.Session.add_all(errors)
            model.Session.commit()
        return True

    def _import(self, harvest_object: HarvestObject) -> bool | str:
        from ckan import model

        source = harvest_object.source
        try:
            cfg = self.source_config(source)
            snapshot = Snapshot.from_json(harvest_object.content)
        except (ConfigError, TypeError, ValueError, KeyError) as error:
            self._save_object_error(IMPORT_FAILED.format(error=error), harvest_object, "Import")
            return False
        previous = self._current_object(source.id, exclude=harvest_object.id)
        if _newer(previous, harvest_object):
            # another run of this source published a later snapshot meanwhile
            log.info("Harvest object %s of source %s not published: the snapshot gathered at %s "
                     "is already published", harvest_object.id, source.id, previous.gathered)
            return "unchanged"
        previous_rows = self.published_rows(source, previous)
        published_ids = (self.guard_keys(previous_rows)
                         if previous and self._package_alive(previous.package_id) else None)
        new_ids = self.guard_keys(snapshot.rows)
        import ckan.plugins.toolkit as tk
        max_share = cfg.get("max_drop_share")
        if max_share is None:
            max_share = float(tk.config.get("ckanext.gelsenkirchen.harvest.max_drop_share", 0.3))
        blocked, reason = drop_check(published_ids, new_ids, max_share)
        changes = row_changes(previous_rows, snapshot.rows, self.guard_keys)
        accepted = bool(cfg.get("accept_drop"))
        if blocked and not accepted:
            self._save_object_error(GUARD_STOPPED.format(
                reason=render(reason, "en"), published=len(published_ids or ())),
                harvest_object, "Import")
            self._set_extra(harvest_object, "report", json.dumps(
                {**snapshot.report.to_dict(), "guard": reason, "changes": changes,
                 "guard_detail": guard_detail(previous_rows, published_ids, new_ids,
                                              self.guard_keys)}, ensure_ascii=False))
            return False
        if blocked:
            snapshot.report.warn(N_("accept_drop: published although {reason}"), reason=reason)
        started = time.monotonic()
        try:
            package_id = self.publish(harvest_object, source, cfg, snapshot, previous_rows)
        except Exception as error:  # noqa: BLE001 - any failure must end as a job error
            log.exception("Publishing harvest object %s failed", harvest_object.id)
            model.Session.rollback()
            self._save_object_error(PUBLISH_FAILED.format(error=_describe(error)),
                                    harvest_object, "Import")
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
            {**snapshot.report.to_dict(), "timings": snapshot.meta.get("timings"),
             "changes": changes},
            ensure_ascii=False), commit=False)
        model.Session.commit()
        if accepted:
            self._clear_accept_drop(source, cfg)
        log.info("Published %s rows of harvest source %s (%s)", len(snapshot.rows), source.id,
                 snapshot.report.summary())
        return True

    # -- internals -------------------------------------------------------------

    def _guid(self, source: HarvestSource) -> str:
        return f"gelsenkirchen-harvest:{source.id}"

    def _parse_context(self, cfg: dict[str, Any], source: HarvestSource) -> ParseContext:
        import ckan.plugins.toolkit as tk

        return ParseContext(city_bbox=geography.accepted_area(cfg.get("bbox")),
                            boundaries=geography.boundaries(),
                            source_name=publishing.source_name(source),
                            limits=ParseLimits.from_config(tk.config))

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
    def _extras(obj: HarvestObject) -> dict[str, str]:
        return {e.key: e.value for e in (obj.extras or [])} if obj is not None else {}

    @staticmethod
    def _set_extra(obj: HarvestObject, key: str, value: str, commit: bool = True) -> None:
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
    def _rows_of(obj: HarvestObject | None) -> list[dict[str, Any]]:
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

    def _unchanged_object(self, job: HarvestJob, guid: str, previous: HarvestObject,
                          why: str) -> str:
        from ckanext.harvest.model import HarvestObject, HarvestObjectExtra
        obj = HarvestObject(guid=guid, job=job, package_id=previous.package_id,
                            extras=[HarvestObjectExtra(key="status", value="unchanged"),
                                    HarvestObjectExtra(key="reason", value=why)])
        obj.save()
        log.info("Harvest source %s unchanged: %s", job.source.id, why)
        return obj.id

    def _clear_accept_drop(self, source: HarvestSource, cfg: dict[str, Any]) -> None:
        new_cfg = {k: v for k, v in cfg.items() if k != "accept_drop"}
        try:
            update_source_config(source.id, json.dumps(new_cfg, ensure_ascii=False, indent=2),
                                 publishing.site_context(self._get_user_name()))
        except Exception:  # noqa: BLE001
            log.exception("Could not remove accept_drop from the configuration of source %s",
                          source.id)


def update_source_config(source_id: str, config: str, context: Context) -> None:
    """Replace a harvest source's configuration (harvest_source_update with
    the source's own fields, as the edit form does)."""
    import ckan.plugins.toolkit as tk

    # not from the search index's cached copy, which lacks harvest fields
    shown = tk.get_action("harvest_source_show")({**context, "use_cache": False},
                                                 {"id": source_id})
    data = {key: shown.get(key) for key in ("id", "name", "title", "url", "notes", "source_type",
                                            "frequency", "owner_org") if shown.get(key) is not None}
    data["config"] = config
    tk.get_action("harvest_source_update")(Context(**context), data)


def _newer(previous: HarvestObject | None, harvest_object: HarvestObject) -> bool:
    """``previous`` (the published object) was gathered after ``harvest_object``."""
    return bool(previous is not None and previous.gathered and harvest_object.gathered
                and previous.gathered > harvest_object.gathered)


def _unexpected(error: Exception, doing: str, what: str) -> str:
    """Log ``error`` with its traceback, roll back, and say it for the report."""
    log.error("Unexpected error while %s %s", doing, what, exc_info=error)
    _rollback()
    return (f"Unexpected error while {doing}: {_describe(error)} (the traceback is in the log). "
            "The published dataset was not changed.")


def _rollback() -> None:
    from ckan import model

    try:
        model.Session.rollback()
    except Exception:  # noqa: BLE001 - a lost connection: the next statement reconnects
        model.Session.remove()


def _describe(error: Exception) -> str:
    import ckan.plugins.toolkit as tk
    if isinstance(error, tk.ValidationError):
        return f"validation error {error.error_summary or error.error_dict}"
    return f"{error.__class__.__name__}: {error}"[:500]
