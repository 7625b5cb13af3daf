"""Alerts of harvest sources (issue 16, item 5): a source whose last run
failed, whose last run the deletion guard stopped, or that has not
completed a run for twice its frequency gets one alert, by e-mail to its
recipients and as JSON to its webhook (harvesters/alert_delivery.py), once
per state: the next comes when the state changes (alert_state.py).

:func:`check_all` runs after every ``harvest_jobs_run`` (``ckan harvester
run``, which marks jobs finished) and as ``ckan gelsenkirchen
harvest-alerts``. Nothing here fails a harvest: a mail server or webhook
that is down is logged and tried again at the next check. Messages are in
the portal's default language; the log is English.
"""
from __future__ import annotations

import dataclasses
import datetime
import logging
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.gelsenkirchen.harvesters import alert_delivery, alert_state, runs
from ckanext.gelsenkirchen.logic.messages import N_, Message, message, render

log = logging.getLogger(__name__)

ENABLED_OPTION = "ckanext.gelsenkirchen.harvest.alerts.enabled"
OK, STALE = "ok", "stale"
ALERT_STATES = (runs.FAILED, runs.GUARD, STALE)
SUBJECTS = {
    runs.FAILED: N_("Harvest source \"{title}\": the last run failed"),
    runs.GUARD: N_("Harvest source \"{title}\": the deletion guard stopped the run"),
    STALE: N_("Harvest source \"{title}\": no completed run for too long"),
}
BODY = N_("The harvest source \"{title}\" of {organization} needs attention: {state}.\n\n"
          "Runs, report and what to do: {page}\n\n"
          "This alert is sent once; the next one comes when the state of the source changes.")
STALE_WORDS = N_("no completed run since {since} (scheduled {frequency})")
NEVER_WORDS = N_("no completed run since the source was created on {since} "
                 "(scheduled {frequency})")


@dataclasses.dataclass
class Finding:
    """The alert state of a source now, and what was done about it."""
    source_id: str
    title: str
    state: str
    words: Message = ""
    job_id: str | None = None
    delivered: list[str] = dataclasses.field(default_factory=list)
    error: str = ""

    def line(self) -> str:
        done = (f"; sent: {', '.join(self.delivered)}" if self.delivered else "")
        failed = f"; NOT delivered, tried again next time: {self.error}" if self.error else ""
        words = render(self.words, "en")
        return f"'{self.title}' {self.state}" + (f": {words}" if words else "") + done + failed


def enabled() -> bool:
    return tk.asbool(tk.config.get(ENABLED_OPTION, True))


def _stamp(when: datetime.datetime) -> str:
    return when.strftime("%Y-%m-%d %H:%M UTC")


def current_state(source: Any, now: datetime.datetime) -> tuple[str, Message, str | None]:
    """(state, state in words, job id) of a HarvestSource: the last finished
    run failed or was stopped by the guard; else stale when no run completed
    for twice the source's frequency; else ok."""
    finished = [run for run in runs.history(source.id, limit=5)
                if run.state not in (runs.RUNNING, runs.WAITING)]
    last = finished[0] if finished else None
    if last is not None and last.state in (runs.FAILED, runs.GUARD):
        return last.state, last.words, last.job_id
    frequency = (source.frequency or "MANUAL").upper()
    interval = runs.FREQUENCIES.get(frequency)
    if not interval:
        return OK, "", last.job_id if last else None
    since = (last.finished or last.created) if last else source.created
    if since is None or now - since <= 2 * interval:
        return OK, "", last.job_id if last else None
    words = STALE_WORDS if last else NEVER_WORDS
    return STALE, message(words, since=_stamp(since), frequency=frequency), \
        last.job_id if last else None


def _lang() -> str:
    return str(tk.config.get("ckan.locale_default") or "en")


def compose(source: Any, finding: Finding, now: datetime.datetime) -> dict[str, Any]:
    """The alert: subject and text (the portal's language) and, for the
    webhook, the same with the source's facts."""
    from ckan import model

    dataset = model.Package.get(source.id)
    org = model.Group.get(dataset.owner_org) if dataset and dataset.owner_org else None
    name = dataset.name if dataset else source.id
    site = str(tk.config.get("ckan.site_url") or "").rstrip("/")
    page = f"{site}/harvest/{name}/runs"
    lang = _lang()
    params = {"title": finding.title, "organization": org.display_name if org else "-",
              "state": render(finding.words, lang), "page": page}
    subject = render(message(SUBJECTS[finding.state], **params), lang)
    text = render(message(BODY, **params), lang)
    return {"event": "harvest_alert", "state": finding.state, "subject": subject, "text": text,
            "message": params["state"], "message_en": render(finding.words, "en"),
            "source": {"id": source.id, "name": name, "title": finding.title, "url": source.url,
                       "organization": org.name if org else None},
            "job_id": finding.job_id, "page": page, "detected": now.isoformat() + "Z"}


def _deliver(source: Any, row: alert_state.AlertState, finding: Finding,
             now: datetime.datetime) -> None:
    """Send what ``row`` has not delivered yet for ``finding.state``."""
    settings = alert_delivery.settings(source.config)
    alert = compose(source, finding, now)
    errors = []
    if row.mailed != finding.state:
        from ckan import model

        dataset = model.Package.get(source.id)
        to = alert_delivery.recipients(settings.emails, dataset.owner_org if dataset else None)
        try:
            if to:
                alert_delivery.send_mail(to, alert["subject"], alert["text"])
                finding.delivered.append(f"mail to {len(to)}")
            else:
                log.warning("Harvest source %s: alert %s has no recipient (no alert_email, no "
                            "organization admin with an e-mail address)", source.id,
                            finding.state)
            row.mailed = finding.state
        except alert_delivery.DeliveryError as error:
            errors.append(str(error))
    if row.posted != finding.state:
        try:
            if settings.webhook:
                alert_delivery.post_webhook(settings.webhook, alert)
                finding.delivered.append("webhook")
            row.posted = finding.state
        except alert_delivery.DeliveryError as error:
            errors.append(str(error))
    row.attempted, row.error = now, "; ".join(errors)[:1000]
    finding.error = row.error
    if errors:
        log.warning("Harvest source %s: alert %s not delivered, tried again at the next check: "
                    "%s", source.id, finding.state, row.error)


def check_source(source: Any, now: datetime.datetime) -> Finding | None:
    """Alert ``source`` (a HarvestSource) if its state asks for it and was
    not alerted yet; None when another process is checking it. Commits."""
    from ckan import model

    state, words, job_id = current_state(source, now)
    dataset = model.Package.get(source.id)
    finding = Finding(source_id=source.id, title=(dataset.title if dataset else "") or source.id,
                      state=state, words=words, job_id=job_id)
    row = alert_state.lock(source.id, state, now)
    if row is None:
        model.Session.rollback()
        return None
    if row.state != state:
        row.state, row.since = state, now
    if state in ALERT_STATES:
        _deliver(source, row, finding, now)
    else:  # back to normal: the next failure is a new state
        row.mailed = row.posted = row.error = ""
    alert_state.save(row)
    model.Session.commit()
    return finding


def check_all(now: datetime.datetime | None = None,
              source_id: str | None = None) -> list[Finding]:
    """Check every active harvest source of these harvesters (or only
    ``source_id``); never raises for one source (it is logged, and the
    others are checked)."""
    from ckan import model
    from ckanext.harvest.model import HarvestSource

    now = now or datetime.datetime.utcnow()
    # harvest_jobs_run leaves its jobs in the session as it set them (a
    # finished time as text): read them back from the database
    model.Session.expire_all()
    query = (model.Session.query(HarvestSource)
             .filter(HarvestSource.active == True,  # noqa: E712 - deleted sources say nothing
                     HarvestSource.type.in_(sorted(runs.own_source_types()))))
    if source_id:
        query = query.filter(HarvestSource.id == source_id)
    sources = query.order_by(HarvestSource.title).all()
    findings = []
    for source in sources:
        try:
            finding = check_source(source, now)
        except Exception:  # noqa: BLE001 - one source's fault must not stop the others
            log.exception("Checking the alerts of harvest source %s failed", source.id)
            model.Session.rollback()
            continue
        if finding is not None:
            findings.append(finding)
    return findings


def after_jobs_run(source_id: str | None = None) -> None:
    """The check after ``harvest_jobs_run`` (of the one source it was called
    for, or all): logged, never raised."""
    if not enabled():
        return
    try:
        for finding in check_all(source_id=source_id):
            if finding.delivered or finding.error:
                log.info("Harvest alert: %s", finding.line())
    except Exception:  # noqa: BLE001 - alerts never fail the harvest
        log.exception("Checking harvest alerts failed")
        from ckan import model

        model.Session.rollback()
