"""The doctor's checks of harvesting: live consumers that take the queues'
messages, no job stuck Running, the last run of every source."""
from __future__ import annotations

import dataclasses
import datetime
import json
from collections.abc import Callable, Iterable
from typing import Any

import ckan.plugins.toolkit as tk
import redis
import sqlalchemy as sa

from ckanext.gelsenkirchen.doctor.common import (
    TIMEOUT_SECONDS,
    CheckResult,
    _ini,
    _minutes,
    _plugins,
    _short,
    _utcnow,
)
from ckanext.gelsenkirchen.harvesters.runs import check_runs, own_source_types

# --------------------------------------------------------------------------- harvest consumers


@dataclasses.dataclass
class _QueueState:
    label: str  # "gather" / "fetch"
    waiting: int
    oldest_age: datetime.timedelta | None  # of the message at the head of the list
    age_source: str
    in_progress: int
    last_taken_age: datetime.timedelta | None  # newest in-progress message


def _harvest_redis() -> redis.Redis:
    from ckanext.gelsenkirchen.harvest_consumers import queue_connection

    # ckanext-harvest opens connections without timeouts: add them
    pool = queue_connection(socket_connect_timeout=TIMEOUT_SECONDS,
                            socket_timeout=TIMEOUT_SECONDS).connection_pool
    conn = redis.Redis(connection_pool=pool, single_connection_client=True)
    try:
        # Redis >= 7.2: our reads must not reset the lists' idle time, which
        # dates messages the database cannot date (see _queue_state).
        conn.execute_command("CLIENT", "NO-TOUCH", "ON")
    except redis.ResponseError:
        pass
    return conn


def _parse_consumer_time(value: bytes | str | None) -> datetime.datetime | None:
    # RedisConsumer stores str(datetime.datetime.now()) (local time).
    text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value or ""
    for fmt in ("%Y-%m-%d %H:%M:%S.%f", "%Y-%m-%d %H:%M:%S"):
        try:
            return datetime.datetime.strptime(text, fmt)
        except ValueError:
            continue
    return None


def _queue_state(conn: redis.Redis, label: str, routing_key: str, message_key: str,
                 queued_at: Callable[[str], datetime.datetime | None]) -> _QueueState:
    # OBJECT IDLETIME (seconds since anyone read or wrote the list) first:
    # it does not touch the key, LLEN/LINDEX do. None when the list is empty.
    try:
        idle = conn.object("idletime", routing_key)
    except redis.ResponseError:  # not available with an LFU maxmemory-policy
        idle = None
    waiting = conn.llen(routing_key)
    oldest_age, age_source = None, ""
    if waiting:
        try:
            head_id = json.loads(conn.lindex(routing_key, 0) or "")[message_key]
        except (TypeError, ValueError, KeyError):
            head_id = None
        try:
            since = queued_at(head_id) if head_id else None
        except sa.exc.SQLAlchemyError:  # e.g. harvest tables missing: date it by Redis
            from ckan import model

            model.Session.rollback()
            since = None
        if since is not None:
            oldest_age, age_source = _utcnow() - since, "database"
        elif idle is not None:
            oldest_age, age_source = datetime.timedelta(seconds=int(idle)), "idle list"

    now_local = datetime.datetime.now()
    taken = []
    for key in conn.scan_iter(match=routing_key + ":*", count=500):
        moment = _parse_consumer_time(conn.get(key))
        if moment is not None:
            taken.append(now_local - moment)
    return _QueueState(label, waiting, oldest_age, age_source, len(taken),
                       min(taken) if taken else None)


def _consumer_note(beat: dict[str, Any], now: datetime.datetime) -> str:
    since = ""
    try:
        moment = datetime.datetime.fromisoformat(str(beat.get("since")))
        since = f" for {_minutes(now - moment.replace(tzinfo=None))} min"
    except ValueError:
        pass
    state = str(beat.get("state") or "?")
    if state == "busy" and beat.get("message"):
        state = f"busy with {beat['message']}"
    return f"pid {beat.get('pid')}@{beat.get('host')} {state}{since}"


def check_harvest_consumers(plugins: Iterable[str] | str | None = None) -> CheckResult:  # noqa: C901 - one rule per queue state
    """Each harvest queue has a live consumer, and its messages are taken.

    Every ``ckan gelsenkirchen harvest-consumer`` keeps a heartbeat key per
    queue and process in Redis (harvest_consumers.py), refreshed every
    ``ckanext.gelsenkirchen.harvest.consumer_heartbeat_seconds`` and expiring
    after three of them. A queue without a heartbeat has no live consumer.
    A queue whose oldest message waits longer than
    ``ckanext.gelsenkirchen.doctor.queue_wait_minutes`` while no consumer
    took one in that time has consumers that are all busy or hung.
    """
    name = "harvest consumers"
    if "harvest" not in _plugins(plugins):
        return CheckResult(name, True, "harvest plugin not enabled", skipped=True)
    backend = tk.config.get("ckan.harvest.mq.type") or "redis"
    if backend != "redis":
        return CheckResult(name, True, f"queue backend {backend}: only the Redis backend can be "
                           "inspected", skipped=True)

    from ckan import model
    from ckanext.harvest import queue
    from ckanext.harvest.model import HarvestJob, HarvestObject

    from ckanext.gelsenkirchen import harvest_consumers

    limit = tk.config.get("ckanext.gelsenkirchen.doctor.queue_wait_minutes")
    limit = 15 if limit is None else int(limit)
    ini = _ini()

    def job_queued_at(job_id: str) -> datetime.datetime | None:
        job = model.Session.get(HarvestJob, job_id)
        # ckanext-harvest records no "queued" time: the job's creation is the
        # earliest it can have been queued.
        return job.created if job is not None else None

    def object_queued_at(object_id: str) -> datetime.datetime | None:
        obj = model.Session.get(HarvestObject, object_id)
        if obj is None:
            return None
        # Objects are queued when their job's gather stage ends.
        job = obj.job
        return max(filter(None, [obj.gathered, job.gather_finished if job else None]),
                   default=None)

    try:
        conn = _harvest_redis()
        states = [
            _queue_state(conn, "gather", queue.get_gather_routing_key(), "harvest_job_id",
                         job_queued_at),
            _queue_state(conn, "fetch", queue.get_fetch_routing_key(), "harvest_object_id",
                         object_queued_at),
        ]
        live = {stage: harvest_consumers.live_consumers(conn, stage)
                for stage in harvest_consumers.STAGES}
        where = conn.connection_pool.connection_kwargs
        location = (f"redis://{where.get('host', 'localhost')}:{where.get('port', 6379)}/"
                    f"{where.get('db', 0)}")
        conn.close()
    except redis.RedisError as exc:
        return CheckResult(name, False, f"cannot inspect the harvest queues: {_short(exc)}",
                           "start Redis (systemctl start redis-server) or fix ckan.redis.url / "
                           "ckan.harvest.mq.*")

    problems, notes, fixes = [], [], []
    now = _utcnow()
    for state in states:
        consumer = f"ckan -c {ini} gelsenkirchen harvest-consumer {state.label}"
        beats = live[state.label]
        if not beats:
            problems.append(f"no live {state.label} consumer (no heartbeat in Redis)"
                            + (f", {state.waiting} message(s) waiting" if state.waiting else ""))
            fixes.append(f"start `{consumer}` (systemd: systemctl start "
                         f"ckan-harvest@{state.label}; docs/operations.md)")
            continue
        who = ", ".join(_consumer_note(b, now) for b in beats)
        queued = (f"{state.waiting} waiting" if state.waiting else "queue empty")
        age = state.oldest_age
        recently_taken = (state.last_taken_age is not None
                          and state.last_taken_age < datetime.timedelta(minutes=limit))
        if (state.waiting and age is not None and age > datetime.timedelta(minutes=limit)
                and not recently_taken):
            problems.append(f"{state.label} queue: {state.waiting} message(s) waiting, the oldest "
                            f"{_minutes(age)} min (limit {limit} min), none taken since; its "
                            f"consumers are busy or hung: {who}")
            fixes.append(f"read the log of `{consumer}`; restart it if it hangs (a hung "
                         "consumer's message is put back when it restarts only after "
                         f"`ckan -c {ini} harvester job-abort` of its job)")
            continue
        notes.append(f"{state.label}: {len(beats)} live consumer(s) ({who}), {queued}")
    if problems:
        return CheckResult(name, False, "; ".join(problems + notes), "; ".join(fixes))
    return CheckResult(name, True, f"{location}: " + "; ".join(notes))


# --------------------------------------------------------------------------- stuck jobs


def check_stuck_harvest_jobs(plugins: Iterable[str] | str | None = None,
                             minutes: int | None = None) -> CheckResult:
    """No harvest job has been Running for longer than ``stuck_job_minutes``."""
    name = "harvest jobs"
    if "harvest" not in _plugins(plugins):
        return CheckResult(name, True, "harvest plugin not enabled", skipped=True)
    from ckan import model
    from ckanext.harvest.model import HarvestJob

    if minutes is None:
        minutes = tk.config.get("ckanext.gelsenkirchen.doctor.stuck_job_minutes")
        minutes = 120 if minutes is None else int(minutes)
    ini = _ini()
    now = _utcnow()
    cutoff = now - datetime.timedelta(minutes=minutes)
    try:
        started = sa.func.coalesce(HarvestJob.gather_started, HarvestJob.created)
        jobs = (model.Session.query(HarvestJob)
                .filter(HarvestJob.status == "Running", started < cutoff)
                .order_by(started).all())
        stuck = []
        for job in jobs:
            source = job.source
            # A harvest source is a dataset with the same id; job-abort takes its name.
            dataset = model.Package.get(job.source_id)
            since = job.gather_started or job.created
            last = job.get_last_action_time()
            stuck.append((dataset.name if dataset else job.source_id,
                          f"'{source.title if source else job.source_id}' job {job.id} "
                          f"running for {_minutes(now - since)} min"
                          f"{f', last activity {_minutes(now - last)} min ago' if last else ''}"))
    except Exception as exc:
        model.Session.rollback()
        return CheckResult(name, False, f"cannot read harvest jobs: {_short(exc)}",
                           f"ckan -c {ini} db upgrade")
    if stuck:
        fixes = "; ".join(f"ckan -c {ini} harvester job-abort {source}"
                          for source in dict.fromkeys(source for source, _ in stuck))
        return CheckResult(name, False, f"{len(stuck)} job(s) Running for longer than "
                           f"{minutes} min: " + "; ".join(text for _, text in stuck), fixes)
    return CheckResult(name, True, f"no job Running for longer than {minutes} min")


# --------------------------------------------------------------------------- last runs


def _last_run_errors(job: Any) -> list[str]:
    """The error messages of a finished job: gather errors, then those of
    its errored harvest objects."""
    from ckan import model
    from ckanext.harvest.model import HarvestGatherError, HarvestObject, HarvestObjectError

    messages = [e.message for e in model.Session.query(HarvestGatherError)
                .filter(HarvestGatherError.harvest_job_id == job.id)
                .order_by(HarvestGatherError.created)]
    errored = (model.Session.query(HarvestObject)
               .filter(HarvestObject.harvest_job_id == job.id,
                       sa.or_(HarvestObject.state == "ERROR",
                              HarvestObject.report_status == "errored")).all())
    for obj in errored:
        found = [e.message for e in model.Session.query(HarvestObjectError)
                 .filter(HarvestObjectError.harvest_object_id == obj.id,
                         HarvestObjectError.stage != "Fetch")
                 .order_by(HarvestObjectError.created)]
        messages += found or [f"harvest object {obj.id} ended in state {obj.state}"]
    return messages


def check_harvest_runs(plugins: Iterable[str] | str | None = None) -> CheckResult:
    """The last run of every active source: those of this extension's
    harvesters in words, published with skipped rows being a warning
    (``harvesters/runs.py``); those of other harvesters by their errors."""
    own = check_runs(plugins)
    if own.skipped:
        return own
    other = check_last_harvest_runs(plugins, exclude=own_source_types())
    if other.detail.startswith("no source of other"):
        return own
    return CheckResult(own.name, own.ok and other.ok,
                       f"{own.detail}; other harvesters: {other.detail}",
                       "; ".join(f for f in (own.fix, other.fix) if f))


def check_last_harvest_runs(plugins: Iterable[str] | str | None = None,
                            exclude: set[str] | frozenset[str] = frozenset()) -> CheckResult:
    """The last finished run of every active harvest source (of a type not
    in ``exclude``) ended without errors."""
    name = "harvest runs"
    if "harvest" not in _plugins(plugins):
        return CheckResult(name, True, "harvest plugin not enabled", skipped=True)
    from ckan import model
    from ckanext.harvest.model import HarvestJob, HarvestSource

    ini = _ini()
    site = (tk.config.get("ckan.site_url") or "").rstrip("/")
    failed, count = [], 0
    try:
        for source in (model.Session.query(HarvestSource)
                       .filter(HarvestSource.active == True,  # noqa: E712
                               HarvestSource.type.notin_(sorted(exclude)))
                       .order_by(HarvestSource.created)):
            count += 1
            job = (model.Session.query(HarvestJob)
                   .filter(HarvestJob.source_id == source.id, HarvestJob.status == "Finished")
                   .order_by(sa.func.coalesce(HarvestJob.finished, HarvestJob.created).desc())
                   .first())
            if job is None:
                continue
            errors = _last_run_errors(job)
            if errors:
                dataset = model.Package.get(source.id)
                failed.append((dataset.name if dataset else source.id, source, job, errors))
        model.Session.rollback()
    except Exception as exc:
        model.Session.rollback()
        return CheckResult(name, False, f"cannot read harvest jobs: {_short(exc)}",
                           f"ckan -c {ini} db upgrade")
    if not count:
        return CheckResult(name, True, "no source of other harvesters")
    if not failed:
        return CheckResult(name, True, f"the last run of each of {count} active source(s) "
                           "ended without errors (or has not run yet)")
    details = []
    for source_name, source, job, errors in failed:
        first = errors[0] if len(errors[0]) <= 300 else errors[0][:297] + "..."
        more = f" (+{len(errors) - 1} more)" if len(errors) > 1 else ""
        details.append(f"'{source.title or source_name}' ({source_name}): last run {job.id} "
                       f"ended with errors: {first}{more}")
    fixes = "; ".join(f"read {site}/harvest/{source_name}/job/{job.id}, fix the source or its "
                      f"configuration, then `ckan -c {ini} harvester run-test {source_name}` or "
                      "wait for the next scheduled run" for source_name, _, job, _ in failed)
    return CheckResult(name, False, f"{len(failed)} of {count} source(s) whose last run "
                       "errored: " + "; ".join(details), fixes)
