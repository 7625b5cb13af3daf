"""``ckan gelsenkirchen verify [SOURCE]``: do the parts of every harvested
dataset agree?

A harvest publishes one snapshot in four places: the DataStore table, the
dataset's derived fields, the GeoJSON and CSV files, and the search index.
For each harvest source of this extension's harvesters with a published
harvest object (the *current* one) :func:`verify_source` checks

* the dataset exists, is active and names the published object's content
  hash (``provenance_content_hash``);
* the DataStore table holds the rows the object published (for a
  harvester that keeps history, the object's rows merged into the table,
  ``SnapshotHarvester.rows_to_publish``), compared row by row on the key
  and every column;
* the derived fields are the ones the harvester computes from the table's
  rows;
* each file is stored, matches the size and SHA-256 the dataset records
  for it, and is the export of those rows;
* the search index has the dataset as the database has it (modification
  time, derived fields, content hash).

It reads only; a disagreement is printed with what disagrees.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import math
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ckanext.harvest.model import HarvestObject, HarvestSource

    from ckanext.gelsenkirchen.harvesters.base import SnapshotHarvester

log = logging.getLogger(__name__)

MAX_LISTED = 5


@dataclasses.dataclass
class Finding:
    source: str
    dataset: str
    ok: bool
    detail: str
    problems: list[str] = dataclasses.field(default_factory=list)
    skipped: bool = False

    def line(self) -> str:
        status = "SKIP" if self.skipped else (" OK " if self.ok else "DIFF")
        name = f"{self.dataset} (source {self.source})" if self.dataset else f"source {self.source}"
        text = "; ".join(self.problems) if self.problems else self.detail
        return f"[{status}] {name}: {text}"

    def as_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


# --------------------------------------------------------------------------- values


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return None
    return None


def same(a: Any, b: Any) -> bool:
    """Equal as published values: JSON text and its value, numbers and
    their text, floats within 1e-9 (relative), lists in order."""
    if isinstance(a, dict | list) and isinstance(b, str):
        a, b = b, a
    if isinstance(a, str) and isinstance(b, dict | list):
        try:
            return same(json.loads(a), b)
        except ValueError:
            return False
    if isinstance(a, str) and isinstance(b, str) and a != b and a[:1] in "[{" and b[:1] in "[{":
        try:
            return same(json.loads(a), json.loads(b))
        except ValueError:
            return False
    x, y = _number(a), _number(b)
    if x is not None and y is not None and not (isinstance(a, str) and isinstance(b, str)):
        return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-9)
    if isinstance(a, dict) and isinstance(b, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list | tuple) and isinstance(b, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    if a in (None, "", []) and b in (None, "", []):
        return True
    return bool(a == b)


def _cell(value: Any, column_type: str) -> Any:
    if value is None or value == "":
        return None
    if column_type == "timestamp":
        text = str(value).replace(" ", "T")
        try:
            moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            return text
        if moment.tzinfo is not None:
            moment = moment.astimezone(datetime.UTC).replace(tzinfo=None)
        return moment.isoformat()
    if column_type == "date":
        return str(value)[:10]
    if column_type in ("int", "float8", "numeric"):
        number = _number(value)
        return value if number is None else number
    return value


def compare_rows(expected: Sequence[dict[str, Any]], table: Sequence[dict[str, Any]],
                 fields: Sequence[dict[str, Any]], key: Sequence[str]) -> list[str]:
    """What differs between the rows the dataset should have and the table's."""
    types = {f["id"]: f["type"] for f in fields}

    def by_key(rows: Sequence[dict[str, Any]]) -> dict[tuple[str, ...], dict[str, Any]]:
        return {tuple(str(r.get(k)) for k in key): r for r in rows}

    want, have = by_key(expected), by_key(table)
    problems = []
    if len(table) != len(expected):
        problems.append(f"the DataStore table has {len(table)} rows, the published snapshot "
                        f"{len(expected)}")
    missing = [k for k in want if k not in have]
    extra = [k for k in have if k not in want]
    if missing:
        problems.append(f"{len(missing)} row(s) missing from the DataStore table, e.g. "
                        + ", ".join("/".join(k) for k in missing[:MAX_LISTED]))
    if extra:
        problems.append(f"{len(extra)} row(s) in the DataStore table that were not published, "
                        "e.g. " + ", ".join("/".join(k) for k in extra[:MAX_LISTED]))
    differing = []
    for k in want.keys() & have.keys():
        for column, column_type in types.items():
            if not same(_cell(want[k].get(column), column_type),
                        _cell(have[k].get(column), column_type)):
                differing.append(f"{'/'.join(k)}.{column}")
    if differing:
        problems.append(f"{len(differing)} value(s) in the DataStore table differ from the "
                        "published snapshot, e.g. " + ", ".join(sorted(differing)[:MAX_LISTED]))
    return problems


def compare_fields(expected: dict[str, Any], actual: dict[str, Any], where: str) -> list[str]:
    wrong = [name for name, value in expected.items() if not same(value, actual.get(name))]
    if not wrong:
        return []
    shown = ", ".join(f"{name} {_short(actual.get(name))} (expected {_short(expected[name])})"
                      for name in wrong[:MAX_LISTED])
    return [f"{where}: {len(wrong)} field(s) differ: {shown}"]


def _short(value: Any) -> str:
    text = json.dumps(value, ensure_ascii=False, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


# --------------------------------------------------------------------------- one source


def _context() -> Any:
    from ckan import model
    return {"session": model.Session, "ignore_auth": True, "user": ""}


def _current_object(source_id: str) -> HarvestObject | None:
    from ckan import model
    from ckanext.harvest.model import HarvestObject

    return (model.Session.query(HarvestObject)
            .filter(HarvestObject.harvest_source_id == source_id,
                    HarvestObject.current == True,  # noqa: E712
                    HarvestObject.package_id.isnot(None))
            .order_by(HarvestObject.import_finished.desc().nullslast()).first())


def _as_validated(pkg: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
    """``fields`` as the dataset's schema stores them (e.g. Stadtteil
    names as area codes), by validating the dataset with them."""
    from ckan import model
    from ckan.lib.plugins import lookup_package_plugin
    from ckan.types import Context

    plugin = lookup_package_plugin(pkg.get("type"))
    schema = plugin.update_package_schema()
    # validated outside an action: CKAN 2.10 and 2.11 validators read
    # context["model"], which only get_action fills in for them
    # (CKAN 2.12's Context type no longer declares "model")
    context = Context(model=model, session=model.Session, ignore_auth=True, user="",  # type: ignore[typeddict-unknown-key]
                      schema=schema)
    validated = plugin.validate(context, {**pkg, **fields}, schema, "package_update")
    data = validated[0] if validated else {}
    return {key: data.get(key, value) for key, value in fields.items()}


def _search_entry(dataset_id: str) -> tuple[dict[str, Any] | None, str]:
    from ckan.lib import search

    try:
        doc = search.show(dataset_id)
    except search.SearchError as error:
        text = str(error)
        if "not found in the search index" in text:
            return None, "the dataset is not in the search index"
        return None, f"the search index could not be read: {text[:200]}"
    except Exception as error:  # noqa: BLE001 - e.g. the search service is down
        return None, f"the search index could not be read: {type(error).__name__}: {error}"[:300]
    try:
        return json.loads(doc.get("validated_data_dict") or "{}"), ""
    except ValueError:
        return None, "the search index entry has no readable dataset"


def verify_source(source: HarvestSource, harvester: SnapshotHarvester) -> Finding:  # noqa: C901 - one check after the other
    import ckan.plugins.toolkit as tk

    from ckanext.gelsenkirchen.harvesters import datastore, publishing
    from ckanext.gelsenkirchen.harvesters.base import Snapshot

    name = publishing.source_name(source)
    obj = _current_object(source.id)
    if obj is None:
        return Finding(name, "", True, "nothing published yet", skipped=True)
    ids = publishing.stable_ids(source)
    try:
        pkg = tk.get_action("package_show")(_context(), {"id": obj.package_id})
    except tk.ObjectNotFound:
        return Finding(name, obj.package_id, False, "",
                       [f"the published dataset {obj.package_id} does not exist"])
    finding = Finding(name, pkg["name"], True, "")
    problems = finding.problems
    if pkg.get("state") != "active":
        problems.append(f"the dataset is {pkg.get('state')}")
    content_hash = harvester._extras(obj).get("content_hash", "")
    if content_hash and pkg.get("provenance_content_hash") not in (None, content_hash):
        problems.append("the dataset's provenance_content_hash is not that of the published "
                        "harvest object (the dataset and the harvest record disagree)")
    try:
        snapshot = Snapshot.from_json(obj.content or "")
        cfg = harvester.load_config(source.config)
    except Exception as error:  # noqa: BLE001
        problems.append(f"the published harvest object cannot be read: {error}")
        finding.ok = False
        return finding
    table = datastore.read_rows(ids["data"], harvester.datastore_fields)
    if table is None:
        problems.append("the dataset has no DataStore table")
        finding.ok = False
        return finding
    expected_rows = harvester.rows_to_publish(snapshot.rows, table)
    problems += compare_rows(expected_rows, table, harvester.datastore_fields,
                             [harvester.primary_key])
    published = Snapshot(rows=list(table), report=snapshot.report, meta=dict(snapshot.meta))
    derived = _as_validated(pkg, publishing.fit_to_schema(
        harvester.dataset_type, harvester.dataset_fields(published, cfg)))
    problems += compare_fields(derived, pkg, "derived fields of the dataset vs its DataStore rows")
    problems += _compare_files(harvester, pkg, ids, Snapshot(
        rows=list(expected_rows), report=snapshot.report, meta=dict(snapshot.meta)))
    entry, why = _search_entry(pkg["id"])
    if entry is None:
        problems.append(why)
    else:
        watched = {key: pkg.get(key) for key in ["metadata_modified", "provenance_content_hash",
                                                 *derived] if key in pkg}
        problems += compare_fields(watched, entry, "search index entry vs the dataset")
    finding.ok = not problems
    finding.detail = (f"{len(table)} rows; DataStore table, derived fields, files and search "
                      "index agree")
    return finding


def _compare_files(harvester: SnapshotHarvester, pkg: dict[str, Any], ids: dict[str, str],
                   expected: Any) -> list[str]:
    from ckanext.gelsenkirchen.harvesters import files

    problems = []
    columns = [f["id"] for f in harvester.datastore_fields]
    exported = harvester.export_files(expected, columns)
    resources = {r["id"]: r for r in pkg.get("resources", [])}
    for role, content in exported.items():
        resource = resources.get(ids.get(role, ""))
        if resource is None:
            problems.append(f"the dataset has no {role} resource")
            continue
        try:
            stored = files.read(resource["id"])
        except Exception as error:  # noqa: BLE001
            problems.append(f"the {role} file cannot be read: {type(error).__name__}: {error}")
            continue
        if stored is None:
            problems.append(f"the {role} file is missing from the storage")
            continue
        if resource.get("hash") and resource["hash"] != files.checksum(stored):
            problems.append(f"the {role} file is not the one the dataset records (SHA-256 "
                            "differs)")
        elif resource.get("size") not in (None, "") and int(resource["size"]) != len(stored):
            problems.append(f"the {role} file has {len(stored)} bytes, the dataset records "
                            f"{resource['size']}")
        if stored != content:
            problems.append(f"the {role} file is not the export of the published rows")
    return problems


# --------------------------------------------------------------------------- all sources


def harvested_sources(source: str | None = None) -> list[tuple[HarvestSource, SnapshotHarvester]]:
    """The active harvest sources of this extension's harvesters (or the one
    named ``source``: name or id), each with its harvester."""
    import ckan.plugins.toolkit as tk
    from ckan import model
    from ckanext.harvest import queue
    from ckanext.harvest.model import HarvestSource

    from ckanext.gelsenkirchen.harvesters.base import SnapshotHarvester

    query = model.Session.query(HarvestSource).filter(HarvestSource.active == True)  # noqa: E712
    if source:
        pkg = model.Package.get(source)
        query = query.filter(HarvestSource.id == (pkg.id if pkg else source))
    out = []
    for item in query.order_by(HarvestSource.created).all():
        harvester = queue.get_harvester(item.type)
        if isinstance(harvester, SnapshotHarvester):
            out.append((item, harvester))
    if source and not out:
        raise tk.ObjectNotFound(f"no active harvest source {source!r} of this extension's "
                                "harvesters")
    return out


def run(source: str | None = None) -> list[Finding]:
    from ckan import model

    findings = []
    for item, harvester in harvested_sources(source):
        try:
            findings.append(verify_source(item, harvester))
        except Exception as error:  # noqa: BLE001 - one broken source must not hide the others
            log.exception("verify: source %s", item.id)
            model.Session.rollback()
            findings.append(Finding(item.id, "", False, "", [
                f"could not be verified: {type(error).__name__}: {error}"]))
    return findings
