"""The run history of a harvest source, read back from ckanext-harvest's
tables and this package's job reports: per job the rows published, new,
changed, gone and skipped, the duration, the state in words and the skipped
rows; and the next due run from the source's frequency.

Used by the operator page (operator_views.py), the harvest actions
(logic/action.py), the alerts (alerts.py) and ``doctor``. States and their
words are untranslated messages (logic/messages.py) rendered by the reader.

Why not ckanext-harvest's own numbers: it counts a harvest *object* with
any object error as "errored", and these harvesters write one object per
run whose skipped rows are object errors, so a run that published its
dataset with two skipped rows shows as "errored 1" there.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
from typing import TYPE_CHECKING, Any

from ckanext.gelsenkirchen.harvesters.report import Report
from ckanext.gelsenkirchen.logic.messages import N_, Message, message, parse, render

if TYPE_CHECKING:
    from ckanext.harvest.model import HarvestJob, HarvestSource

# the states of a run; "warnings" is a run that published with skipped rows
# or warnings: it succeeded, the operator should still read its report
PUBLISHED, WARNINGS, UNCHANGED, GUARD, FAILED, RUNNING, WAITING = (
    "published", "warnings", "unchanged", "guard", "failed", "running", "waiting")
OK_STATES = (PUBLISHED, WARNINGS, UNCHANGED, RUNNING, WAITING)
MAX_RUNS = 50

FREQUENCIES = {"ALWAYS": datetime.timedelta(0), "DAILY": datetime.timedelta(days=1), "WEEKLY": datetime.timedelta(weeks=1),
               "BIWEEKLY": datetime.timedelta(weeks=2), "MONTHLY": datetime.timedelta(days=30)}


@dataclasses.dataclass
class Run:
    job_id: str
    created: datetime.datetime | None
    finished: datetime.datetime | None
    state: str
    words: Message
    duration_s: float | None = None
    published: int | None = None  # valid rows of the snapshot
    new: int | None = None
    changed: int | None = None
    gone: int | None = None
    report: Report | None = None
    guard: dict[str, Any] | None = None  # guard_detail of a stopped run
    errors: list[Message] = dataclasses.field(default_factory=list)

    @property
    def skipped(self) -> int:
        return len(self.report.skipped) if self.report else 0

    @property
    def ok(self) -> bool:
        return self.state in OK_STATES

    def as_dict(self, lang: str = "en", skipped_rows: bool = False) -> dict[str, Any]:
        """The run for the API (``gelsenkirchen_harvest_history``): its
        numbers, its state in ``lang``'s words and, with ``skipped_rows``,
        the rows it skipped."""
        out: dict[str, Any] = {
            "job_id": self.job_id, "state": self.state, "ok": self.ok,
            "words": render(self.words, lang),
            "created": _iso(self.created), "finished": _iso(self.finished),
            "duration_s": self.duration_s, "published": self.published, "new": self.new,
            "changed": self.changed, "gone": self.gone, "skipped": self.skipped,
            "errors": [render(e, lang) for e in self.errors], "guard": self.guard}
        if skipped_rows:
            out["skipped_rows"] = self.report.skipped_rows(lang) if self.report else []
        return out


def _iso(when: datetime.datetime | None) -> str | None:
    return when.isoformat() if when else None


def _state(job: HarvestJob, report: dict[str, Any] | None, statuses: list[str],
           errors: list[Message], gather_errors: list[Message]) -> tuple[str, Message]:
    from ckanext.gelsenkirchen.harvesters import base

    if job.status == "New":
        return WAITING, N_("waiting to run")
    if job.status == "Running":
        return RUNNING, N_("running")
    if gather_errors:
        first = gather_errors[0]
        reasons = {base.SOURCE_UNREACHABLE: N_("source not reachable: {error}"),
                   base.SOURCE_UNREADABLE: N_("source could not be read: {error}"),
                   base.CONFIG_INVALID: N_("invalid source configuration: {error}")}
        if isinstance(first, dict) and first.get("id") in reasons:
            return FAILED, message(reasons[first["id"]], **first.get("params", {}))
        return FAILED, message(N_("failed: {error}"), error=first)
    if report is not None and report.get("guard"):
        share = (report.get("guard_detail") or {}).get("share")
        if share is not None:
            return GUARD, message(N_("deletion guard stopped the run: rows down by {share}%"),
                                  share=share)
        return GUARD, message(N_("deletion guard stopped the run: {reason}"),
                              reason=report["guard"])
    if "errored" in statuses and not {"added", "updated"} & set(statuses):
        return FAILED, (message(N_("failed: {error}"), error=errors[-1]) if errors
                        else N_("failed without a report"))
    if statuses and all(s == "not modified" for s in statuses):
        return UNCHANGED, N_("unchanged, nothing to publish")
    if report is None:
        return FAILED, N_("failed without a report")
    skipped = len(report.get("skipped") or [])
    if skipped:
        return WARNINGS, message(N_("published with warnings: {count} rows skipped"),
                                 count=skipped)
    if report.get("warnings"):
        return WARNINGS, N_("published with warnings")
    return PUBLISHED, N_("published")


def run_of(job: HarvestJob) -> Run:
    """The run of one harvest job."""
    from ckan import model
    from ckanext.harvest.model import (
        HarvestGatherError,
        HarvestObject,
        HarvestObjectError,
    )

    from ckanext.gelsenkirchen.harvesters import base

    objects = model.Session.query(HarvestObject).filter_by(harvest_job_id=job.id).all()
    report_data: dict[str, Any] | None = None
    for obj in objects:
        text = next((e.value for e in obj.extras if e.key == "report"), None)
        if text:
            try:
                report_data = json.loads(text)
            except ValueError:
                report_data = None
    gather_errors = [parse(e.message or "", base.GATHER_MESSAGES) for e in
                     model.Session.query(HarvestGatherError).filter_by(harvest_job_id=job.id)
                     .order_by(HarvestGatherError.created)]
    errors = [parse(e.message or "", base.OBJECT_MESSAGES) for e in
              model.Session.query(HarvestObjectError)
              .filter(HarvestObjectError.harvest_object_id.in_([o.id for o in objects]),
                      HarvestObjectError.stage == "Import")
              .order_by(HarvestObjectError.created)] if objects else []
    if report_data is not None and report_data.get("guard"):
        errors = [_with_guard_reason(e, report_data["guard"]) for e in errors]
    statuses = [o.report_status for o in objects if o.report_status]
    state, words = _state(job, report_data, statuses, errors, gather_errors)
    started = job.gather_started or job.created
    run = Run(job_id=job.id, created=job.created, finished=job.finished, state=state,
              words=words, errors=gather_errors + errors,
              duration_s=(job.finished - started).total_seconds()
              if job.finished and started else None)
    if report_data is not None:
        run.report = Report.from_dict(report_data)
        run.guard = report_data.get("guard_detail")
        if state != GUARD:  # a stopped run published nothing: its would-be rows are in guard
            run.published = run.report.published
            changes = report_data.get("changes") or {}
            run.new, run.changed, run.gone = (changes.get("new"), changes.get("changed"),
                                              changes.get("gone"))
    return run


def _with_guard_reason(error: Message, reason: Message) -> Message:
    """The guard's job error with its reason as the message the report
    keeps: the stored error has it as English text, which the page would
    show untranslated inside the translated error."""
    from ckanext.gelsenkirchen.harvesters import base

    if isinstance(error, dict) and error.get("id") == base.GUARD_STOPPED:
        return {**error, "params": {**(error.get("params") or {}), "reason": reason}}
    return error


def history(source_id: str, limit: int = 10) -> list[Run]:
    """The last ``limit`` runs of a source, newest first."""
    from ckan import model
    from ckanext.harvest.model import HarvestJob

    jobs = (model.Session.query(HarvestJob).filter_by(source_id=source_id)
            .order_by(HarvestJob.created.desc()).limit(min(limit, MAX_RUNS)).all())
    return [run_of(job) for job in jobs]


def next_due(source: HarvestSource, last: Run | None) -> datetime.datetime | None:
    """When the scheduler (``ckan harvester run``) starts the next job; None
    for a source that is only started by hand."""
    interval = FREQUENCIES.get((source.frequency or "MANUAL").upper())
    if interval is None:
        return None
    if source.next_run:
        return source.next_run
    since = (last.created if last else None) or source.created
    return since + interval if since else None


def own_source_types() -> set[str]:
    """The source types of the enabled harvesters built on this package's base."""
    from ckan.plugins import PluginImplementations
    from ckanext.harvest.interfaces import IHarvester

    from ckanext.gelsenkirchen.harvesters.base import SnapshotHarvester

    return {h.info()["name"] for h in PluginImplementations(IHarvester)
            if isinstance(h, SnapshotHarvester)}


def check_runs(plugins: Any = None) -> Any:
    """``doctor``'s "harvest runs": the last run of every active source of
    these harvesters, in words; fails when one was stopped by the deletion
    guard or failed. Published with skipped rows is OK, with a warning."""
    from ckan import model
    from ckanext.harvest.model import HarvestSource

    from ckanext.gelsenkirchen.doctor.common import CheckResult, _plugins

    name = "harvest runs"
    if "harvest" not in _plugins(plugins):
        return CheckResult(name, True, "harvest plugin not enabled", skipped=True)
    try:
        sources = (model.Session.query(HarvestSource)
                   .filter(HarvestSource.active == True,  # noqa: E712
                           HarvestSource.type.in_(sorted(own_source_types())))
                   .order_by(HarvestSource.title).all())
        lasts = [(source, history(source.id, limit=1)) for source in sources]
    except Exception as exc:  # noqa: BLE001 - e.g. harvest tables missing
        model.Session.rollback()
        return CheckResult(name, False, f"cannot read harvest runs: {exc}"[:300],
                           "ckan db upgrade")
    states = [(source, runs[0]) for source, runs in lasts if runs]
    if not states:
        return CheckResult(name, True, f"{len(sources)} source(s), none has run yet")
    lines = [f"'{source.title or source.id}' {render(run.words, 'en')}" for source, run in states]
    bad = [source for source, run in states if not run.ok]
    warned = sum(1 for _, run in states if run.state == WARNINGS)
    if bad:
        return CheckResult(name, False, "; ".join(lines),
                           "read the run on the source's operator page: "
                           + ", ".join(f"/harvest/{_name(s)}/runs" for s in bad))
    summary = f" ({warned} published with warnings)" if warned else ""
    return CheckResult(name, True, f"{len(states)} source(s) ran{summary}: " + "; ".join(lines))


def _name(source: HarvestSource) -> str:
    from ckan import model

    dataset = model.Package.get(source.id)  # a harvest source is a dataset with its id
    return dataset.name if dataset else source.id
