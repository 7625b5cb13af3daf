"""Publishing a snapshot: one dataset per harvest source, refreshed on every run.

:func:`publish` creates or updates, as the site user:

* the dataset, with stable ids derived from the harvest source's id
  (:func:`stable_ids`), the harvester's dataset type where a scheming
  schema defines it, the derived fields and the provenance, and the fields
  an editor maintains set once (:func:`creation_defaults`);
* the DataStore table of the main resource (:mod:`.datastore`; rows
  replaced in one transaction, put back if the dataset update fails);
* the GeoJSON and CSV files (the harvester's ``export_files``), uploaded
  through CKAN's uploader, and a link to the original source;
* the table view of the DataStore resource.
"""
from __future__ import annotations

import datetime
import io
import json
import logging
import time
import uuid
from typing import TYPE_CHECKING, Any

from ckan.types import Context

from ckanext.gelsenkirchen.harvesters import datastore, files
from ckanext.gelsenkirchen.harvesters.config import dataset_defaults
from ckanext.gelsenkirchen.logic.messages import N_

if TYPE_CHECKING:
    from ckanext.harvest.model import HarvestObject, HarvestSource

    from .base import Snapshot, SnapshotHarvester
    from .report import Report

log = logging.getLogger(__name__)

NAMESPACE = uuid.UUID("5b0c6f64-6a43-4b0e-9a1f-0c1e9f6b7a10")
#: The dataset and its managed resources.
ROLES = ("dataset", "data", "geojson", "csv", "source")


def site_context(user: str) -> Context:
    """A context for actions as the site user: harvests publish on behalf of
    the source's organization, whoever started the run."""
    from ckan import model
    return {"session": model.Session, "user": user, "ignore_auth": True}


def source_name(source: HarvestSource) -> str:
    """The harvest source's name (its dataset's), else its id."""
    from ckan import model
    source_pkg = model.Package.get(source.id)
    return source_pkg.name if source_pkg else source.id


def owner_org(source: HarvestSource) -> str | None:
    from ckan import model
    source_pkg = model.Package.get(source.id)
    return (source_pkg.owner_org if source_pkg else None) or source.publisher_id or None


def stable_ids(source: HarvestSource) -> dict[str, str]:
    """Dataset and resource ids derived from the source id: stable across runs."""
    return stable_ids_of(source.id)


def stable_ids_of(source_id: str) -> dict[str, str]:
    """The ids of :func:`stable_ids` of the source with id ``source_id``."""
    return {role: str(uuid.uuid5(NAMESPACE, f"{source_id}:{role}")) for role in ROLES}


def scheming_schema(dataset_type: str) -> dict[str, Any] | None:
    """The loaded scheming schema of ``dataset_type``; None without scheming
    or without such a schema."""
    try:
        from ckanext.scheming.helpers import scheming_get_dataset_schema
    except ImportError:  # ckanext-scheming is not installed
        return None
    try:
        return scheming_get_dataset_schema(dataset_type)
    except Exception:  # noqa: BLE001 - scheming not loaded
        return None


def effective_dataset_type(dataset_type: str) -> str:
    """``dataset_type`` when a scheming schema defines it, else "dataset"."""
    return dataset_type if scheming_schema(dataset_type) else "dataset"


def fit_to_schema(dataset_type: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Keep fields the dataset schema knows; without a scheming schema for
    ``dataset_type`` the fields go to free extras as strings."""
    schema = scheming_schema(dataset_type)
    if schema is None:  # our schema is not loaded: keep the figures as free extras
        extras = [{"key": k, "value": v if isinstance(v, str) else json.dumps(v, ensure_ascii=False)}
                  for k, v in fields.items() if v not in (None, "", [])]
        return {"extras": extras}
    known = {f["field_name"] for f in schema.get("dataset_fields", [])}
    unknown = sorted(set(fields) - known)
    if unknown:
        log.debug("Fields not in schema %s, not set: %s", dataset_type, unknown)
    return {k: v for k, v in fields.items() if k in known}


def provenance(source: HarvestSource, content_hash: str) -> dict[str, Any]:
    """Provenance fields of the published dataset (the schema's
    ``provenance_*`` fields; dropped when the schema lacks them)."""
    return {
        "provenance_source_url": source.url,
        "provenance_harvest_source": source_name(source),
        "provenance_harvested_at": datetime.datetime.now(datetime.UTC).replace(tzinfo=None)
        .isoformat(timespec="seconds"),
        "provenance_content_hash": content_hash,
    }


def creation_defaults(source: HarvestSource) -> dict[str, Any]:
    """Dataset fields set when the dataset is created, and on later runs
    only where the dataset has no value (editors may change them)."""
    import ckan.plugins.toolkit as tk
    from ckan import model

    org = model.Group.get(owner_org(source) or "")
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


def managed_resources(titles: dict[str, str], source: HarvestSource, ids: dict[str, str],
                      snapshot: Snapshot) -> dict[str, dict[str, Any]]:
    """The resources a harvester manages: the DataStore table, the GeoJSON
    and CSV files and the link to the source (its file type as the harvester
    set it in ``snapshot.meta["resource_format"]``)."""
    return {
        "data": {"id": ids["data"], "name": titles["data"],
                 "url": "_datastore_only_resource", "url_type": "datastore", "format": "CSV",
                 "datastore_active": True},
        "geojson": {"id": ids["geojson"], "name": titles["geojson"],
                    "format": "GeoJSON", "mimetype": "application/geo+json"},
        "csv": {"id": ids["csv"], "name": titles["csv"], "format": "CSV",
                "mimetype": "text/csv"},
        "source": {"id": ids["source"], "name": titles["source"],
                   "url": source.url, "format": snapshot.meta.get("resource_format") or ""},
    }


def free_name(harvester: SnapshotHarvester, wanted: str | None, dataset_id: str, title: str,
              report: Report) -> str:
    """``wanted`` (or a name from the title) unless another dataset or a
    harvest source already has it; then the next free variant (reported)."""
    from ckan import model

    if not wanted:
        return harvester._gen_new_name(title)
    taken = model.Package.get(wanted)
    if taken is None or taken.id == dataset_id:
        return wanted
    name = harvester._ensure_name_is_unique(wanted) or harvester._gen_new_name(title)
    report.warn(N_('the dataset name "{wanted}" is taken (by a dataset or a harvest '
                   'source); the dataset is named "{name}"'), wanted=wanted, name=name)
    return name


def package_or_none(package_id: str, context: Context) -> dict[str, Any] | None:
    import ckan.plugins.toolkit as tk
    try:
        return tk.get_action("package_show")(Context(**context), {"id": package_id})
    except tk.ObjectNotFound:
        return None


def publish(harvester: SnapshotHarvester, harvest_object: HarvestObject, source: HarvestSource,
            cfg: dict[str, Any], snapshot: Snapshot, previous_rows: list[dict[str, Any]]) -> str:
    """Create or update the dataset, its DataStore table and files; the id
    of the dataset."""
    import ckan.plugins.toolkit as tk
    from werkzeug.datastructures import FileStorage

    user = harvester._get_user_name()
    context = site_context(user)
    ids = stable_ids(source)
    existing = package_or_none(ids["dataset"], context)
    columns = [f["id"] for f in harvester.datastore_fields]
    content_hash = harvester._extras(harvest_object).get("content_hash", "")
    fields = fit_to_schema(harvester.dataset_type, harvester.dataset_fields(snapshot, cfg)
                           | provenance(source, content_hash))
    defaults = dataset_defaults(cfg, harvester.dataset_type)
    initial = harvester.creation_defaults(source, cfg)
    title = cfg.get("dataset_title") or source.title or source.url
    managed = managed_resources(harvester.resource_titles, source, ids, snapshot)
    if existing is None:
        pkg = {**initial, **defaults, "id": ids["dataset"],
               "type": effective_dataset_type(harvester.dataset_type),
               "name": free_name(harvester, cfg.get("dataset_name"), ids["dataset"], title,
                                 snapshot.report),
               "title": title,
               "notes": cfg.get("dataset_notes") or source.description or initial.get("notes", ""),
               "owner_org": owner_org(source),
               "resources": [{**managed["data"], "datastore_active": False}, managed["source"]],
               **fields}
        existing = tk.get_action("package_create")(Context(**context), pkg)
    elif existing.get("state") != "active":
        existing = tk.get_action("package_patch")(
            Context(**context), {"id": existing["id"], "state": "active"})
    timings = snapshot.meta.setdefault("timings", {})
    # CKAN writes the files in place before it commits the dataset update:
    # keep the current ones to put back if the update fails
    kept = files.keep(ids[role] for role in ("geojson", "csv"))
    # The DataStore first: one transaction, so a failure keeps the old rows.
    mark = time.monotonic()
    datastore.ensure_table(ids["data"], harvester.datastore_fields, harvester.primary_key, context)
    datastore.replace_rows(ids["data"], harvester.datastore_fields, snapshot.rows)
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
            pkg["name"] = free_name(harvester, cfg["dataset_name"], ids["dataset"], title,
                                    snapshot.report)
        others = [r for r in existing.get("resources", []) if r["id"] not in ids.values()]
        exported = harvester.export_files(snapshot, columns)
        resources = []
        for role in ("data", "geojson", "csv", "source"):
            res = dict(managed[role])
            if role in exported:
                res["upload"] = FileStorage(
                    stream=io.BytesIO(exported[role]),
                    filename=f"{harvester.file_basename}.{role}",
                    content_type="application/geo+json" if role == "geojson" else "text/csv")
                res["size"] = len(exported[role])
                res["hash"] = files.checksum(exported[role])
                res["hash_algorithm"] = files.HASH_ALGORITHM
            resources.append(res)
        pkg["resources"] = resources + others
        timings["files_s"] = round(time.monotonic() - mark, 3)
        mark = time.monotonic()
        tk.get_action("package_update")(Context(**context), pkg)
        timings["package_update_s"] = round(time.monotonic() - mark, 3)
    except Exception:
        # keep the table, the files, the dataset and its index entry in step:
        # put the old rows and files back, index the dataset as it is stored
        try:
            datastore.replace_rows(ids["data"], harvester.datastore_fields, previous_rows)
        except Exception:  # noqa: BLE001
            log.exception("Could not restore the previous DataStore rows")
        files.put_back(kept)
        reindex(ids["dataset"])
        raise
    ensure_views(ids["data"], context)
    return ids["dataset"]


def reindex(dataset_id: str) -> None:
    """Index the dataset as the database has it (after a failed update whose
    index write may have gone through). Best effort: a failure is logged."""
    from ckan import model
    from ckan.lib import search

    try:
        model.Session.rollback()
        if model.Package.get(dataset_id) is not None:
            search.rebuild(dataset_id)
    except Exception:  # noqa: BLE001 - e.g. the search service is down: it kept the old entry
        log.warning("Could not re-index dataset %s after the failed update", dataset_id,
                    exc_info=True)


def ensure_views(resource_id: str, context: Context) -> None:
    """The table view of the DataStore resource (datatables_view)."""
    import ckan.plugins as p
    import ckan.plugins.toolkit as tk

    if not p.plugin_loaded("datatables_view"):
        return
    views = tk.get_action("resource_view_list")(Context(**context), {"id": resource_id})
    if not any(v["view_type"] == "datatables_view" for v in views):
        tk.get_action("resource_view_create")(Context(**context), {
            "resource_id": resource_id, "view_type": "datatables_view", "title": "Tabelle"})
