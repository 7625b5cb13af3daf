"""Harvest queue consumers that keep running, whatever happens.

``ckan gelsenkirchen harvest-consumer gather|fetch`` runs ckanext-harvest's
own callbacks (``gather_callback``, ``fetch_callback``) on its Redis queues,
without patching ckanext-harvest, and adds what an unattended consumer needs:

* **No idle death.** ckanext-harvest 1.6.3 waits with a BLPOP on a
  connection made with redis-py's defaults; redis-py 8 (pinned by CKAN 2.12)
  sets a 5 s socket timeout there, so ``ckan harvester gather-consumer`` and
  ``fetch-consumer`` die after five idle seconds. Here BLPOP waits
  :data:`BLOCK_SECONDS` at a time on ckanext-harvest's own connection
  (:func:`queue_connection`) with a socket timeout longer than that.
* **An unexpected exception ends one message, not the consumer.** The job
  (gather) or harvest object (fetch/import) ends as errored, with the
  exception in the job report and the traceback in the log
  (:func:`_record_failure`); the consumer takes the next message.
* **Redis or PostgreSQL going away is waited out.** A Redis error sends the
  consumer into reconnecting with exponential backoff (logged); after every
  (re)connection it puts back what a Redis restart may have lost: jobs
  queued but never gathered, objects gathered but never fetched
  (:func:`requeue_lost`). A lost database connection (the message could
  not be handled) waits, with backoff, until PostgreSQL answers again and
  puts the message back at the head of the queue.
* **A heartbeat.** A thread keeps a Redis key per queue and process
  (:func:`heartbeat_key`, expiring after three missed beats) saying what the
  consumer does; ``ckan gelsenkirchen doctor`` reads them
  (:func:`live_consumers`) to tell whether each queue has a live consumer.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import signal
import socket
import threading
import time
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk
import redis
import sqlalchemy as sa

log = logging.getLogger(__name__)

STAGES = ("gather", "fetch")
#: the key of a queue message naming what it carries
MESSAGE_KEYS = {"gather": "harvest_job_id", "fetch": "harvest_object_id"}
#: seconds one BLPOP waits before the loop comes round again
BLOCK_SECONDS = 5
#: a message whose handling lost the database connection is tried this often
MAX_DB_RETRIES = 5
HEARTBEAT_DEFAULT_SECONDS = 10


def queue_connection(**connection_options: Any) -> redis.Redis:
    """ckanext-harvest's own connection to its queues
    (``ckanext.harvest.queue.get_connection_redis``: ``ckan.redis.url`` or the
    ``ckan.harvest.mq.*`` options), with ``connection_options`` (timeouts)
    set before its pool opens a connection."""
    from ckanext.harvest.queue import get_connection_redis

    conn = get_connection_redis()
    conn.connection_pool.connection_kwargs.update(connection_options)
    return conn


def _connection() -> redis.Redis:
    # BLPOP waits BLOCK_SECONDS: a read timeout above that notices a server
    # that stopped answering; keepalive notices a dropped connection.
    return queue_connection(socket_timeout=BLOCK_SECONDS + 10, socket_keepalive=True,
                            socket_connect_timeout=10)


def routing_key(stage: str) -> str:
    from ckanext.harvest import queue

    return queue.get_gather_routing_key() if stage == "gather" else queue.get_fetch_routing_key()


# --------------------------------------------------------------------------- heartbeat


def heartbeat_prefix(stage: str) -> str:
    site_id = tk.config.get("ckan.site_id") or "default"
    return f"ckanext-gelsenkirchen:{site_id}:harvest-consumer:{stage}:"


def heartbeat_key(stage: str, ident: str | None = None) -> str:
    return heartbeat_prefix(stage) + (ident or f"{socket.gethostname()}:{os.getpid()}")


def heartbeat_seconds() -> int:
    value = tk.config.get("ckanext.gelsenkirchen.harvest.consumer_heartbeat_seconds")
    return max(1, int(value or HEARTBEAT_DEFAULT_SECONDS))


def live_consumers(conn: redis.Redis, stage: str) -> list[dict[str, Any]]:
    """The heartbeats of the live consumers of ``stage`` (one dict each)."""
    beats = []
    for key in conn.scan_iter(match=heartbeat_prefix(stage) + "*", count=500):
        raw = conn.get(key)
        try:
            beat = json.loads(raw) if raw else None
        except ValueError:
            beat = None
        if isinstance(beat, dict):
            beats.append(beat)
    return sorted(beats, key=lambda b: str(b.get("pid")))


class Heartbeat(threading.Thread):
    """Refreshes this consumer's heartbeat key every ``interval`` seconds
    (expiring after three intervals) on a connection of its own, whatever
    the consumer's loop is doing; the value says what that is."""

    def __init__(self, stage: str, interval: int) -> None:
        super().__init__(name=f"harvest-{stage}-heartbeat", daemon=True)
        self.stage, self.interval = stage, interval
        self.key = heartbeat_key(stage)
        self._stop_event = threading.Event()
        self._lock = threading.Lock()
        now = _now()
        self._state: dict[str, Any] = {
            "stage": stage, "host": socket.gethostname(), "pid": os.getpid(),
            "started": now, "state": "starting", "since": now, "message": None,
            "handled": 0, "failed": 0}
        self._conn = queue_connection(socket_timeout=5, socket_connect_timeout=5)

    def set(self, state: str, message: str | None = None, *, count: str | None = None) -> None:
        with self._lock:
            if state != self._state["state"] or message != self._state["message"]:
                self._state.update(state=state, since=_now(), message=message)
            if count:
                self._state[count] += 1

    def beat(self) -> None:
        with self._lock:
            value = json.dumps({**self._state, "beat": _now()})
        self._conn.set(self.key, value, ex=self.interval * 3)

    def run(self) -> None:
        failing = False
        while not self._stop_event.is_set():
            try:
                self.beat()
                failing = False
            except redis.RedisError as exc:
                if not failing:
                    log.warning("harvest %s consumer: heartbeat not written: %s", self.stage, exc)
                failing = True
            self._stop_event.wait(self.interval)

    def stop(self) -> None:
        self._stop_event.set()
        try:
            self._conn.delete(self.key)
        except redis.RedisError:
            pass


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")


# --------------------------------------------------------------------------- backoff


@dataclasses.dataclass
class Backoff:
    """Exponential waits: 1, 2, 4, ... seconds, at most ``maximum``."""
    initial: float = 1.0
    maximum: float = 60.0
    attempt: int = 0

    def next(self) -> float:
        delay = min(self.maximum, self.initial * 2 ** self.attempt)
        self.attempt += 1
        return delay

    def reset(self) -> None:
        self.attempt = 0


def _reset_session() -> None:
    from ckan import model

    try:
        model.Session.rollback()
    except Exception:  # noqa: BLE001 - the connection may be gone
        pass
    model.Session.remove()


def database_answers() -> bool:
    from ckan import model

    try:
        model.Session.execute(sa.text("SELECT 1"))
        model.Session.rollback()
        return True
    except Exception:  # noqa: BLE001 - any failure means "not yet"
        _reset_session()
        return False


def wait_for_database(stage: str, beat: Heartbeat | None = None,
                      sleep: Callable[[float], None] = time.sleep) -> None:
    """Return once PostgreSQL answers, waiting with backoff and logging it."""
    backoff = Backoff()
    while not database_answers():
        delay = backoff.next()
        log.warning("harvest %s consumer: PostgreSQL does not answer; trying again in %.0f s",
                    stage, delay)
        if beat:
            beat.set("waiting for PostgreSQL")
        sleep(delay)
    if backoff.attempt:
        log.warning("harvest %s consumer: PostgreSQL answers again", stage)


def is_connection_error(exc: BaseException) -> bool:
    """A lost or refused database connection (not an error in a statement)."""
    if isinstance(exc, sa.exc.DBAPIError) and exc.connection_invalidated:
        return True
    if isinstance(exc, sa.exc.OperationalError | sa.exc.InterfaceError):
        return not database_answers()
    return False


# --------------------------------------------------------------------------- recovery


def requeue_lost(stage: str, conn: redis.Redis) -> list[str]:
    """Put back on the queue what a Redis restart lost: for gather, jobs
    Running but never gathered; for fetch, harvest objects WAITING in a
    Running job. Messages still in the list or being handled are left
    alone. Returns the ids put back."""
    from ckan import model
    from ckanext.harvest.model import HarvestJob, HarvestObject

    key = routing_key(stage)
    if stage == "gather":
        query = model.Session.query(HarvestJob.id).filter(
            HarvestJob.status == "Running", HarvestJob.gather_started.is_(None))
    else:
        query = (model.Session.query(HarvestObject.id)
                 .join(HarvestJob, HarvestObject.harvest_job_id == HarvestJob.id)
                 .filter(HarvestObject.state == "WAITING", HarvestJob.status == "Running"))
    ids = [row[0] for row in query.all()]
    model.Session.rollback()
    if not ids:
        return []
    message_key = MESSAGE_KEYS[stage]
    queued = set()
    for raw in conn.lrange(key, 0, -1):
        try:
            queued.add(json.loads(raw)[message_key])
        except (ValueError, KeyError, TypeError):
            continue
    lost = [i for i in ids if i not in queued and not conn.exists(f"{key}:{i}")]
    for ident in lost:
        conn.rpush(key, json.dumps({message_key: ident}))
    if lost:
        log.warning("harvest %s consumer: put %d message(s) back on the queue that Redis had "
                    "lost: %s", stage, len(lost), ", ".join(lost))
    return lost


# --------------------------------------------------------------------------- one message


class _Channel:
    """The consumer as ckanext-harvest's callbacks see it, noting the ack."""

    def __init__(self, consumer: Any) -> None:
        self.consumer = consumer
        self.acked = False

    def basic_ack(self, message: Any) -> None:
        self.acked = True
        self.consumer.basic_ack(message)


def _message_id(stage: str, body: str) -> str | None:
    try:
        value = json.loads(body)[MESSAGE_KEYS[stage]]
    except (ValueError, KeyError, TypeError):
        return None
    return value if isinstance(value, str) else None


def _already_handled(stage: str, ident: str) -> str | None:
    """Why a message needs no handling (a duplicate), else None."""
    from ckan import model
    from ckanext.harvest.model import HarvestJob, HarvestObject

    if stage == "gather":
        job = model.Session.get(HarvestJob, ident)
        if job is not None and job.gather_finished is not None:
            return f"job {ident} was gathered already"
    else:
        obj = model.Session.get(HarvestObject, ident)
        if obj is not None and obj.state in ("COMPLETE", "ERROR"):
            return f"harvest object {ident} was handled already ({obj.state})"
    return None


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"[:500]


def _record_failure(stage: str, ident: str, exc: BaseException) -> None:
    """End the job (gather) or harvest object (fetch/import) as errored, with
    the exception in the job report."""
    from ckan import model
    from ckanext.harvest.model import (
        HarvestGatherError,
        HarvestJob,
        HarvestObject,
        HarvestObjectError,
    )

    _reset_session()
    now = datetime.datetime.utcnow()
    text = (f"Unexpected error in the {stage} consumer: {_describe(exc)} (the traceback is in "
            f"the log of `ckan gelsenkirchen harvest-consumer {stage}`). The published dataset "
            "was not changed by this run.")
    if stage == "gather":
        job = model.Session.get(HarvestJob, ident)
        if job is None:
            return
        model.Session.add(HarvestGatherError(message=text, job=job))
        job.gather_started = job.gather_started or now
        job.gather_finished = job.gather_finished or now
    else:
        obj = model.Session.get(HarvestObject, ident)
        if obj is None:
            return
        step = "Import" if obj.state == "IMPORT" else "Fetch"
        model.Session.add(HarvestObjectError(message=text, object=obj, stage=step))
        obj.state, obj.report_status = "ERROR", "errored"
        obj.fetch_finished = obj.fetch_finished or now
        if step == "Import":
            obj.import_finished = obj.import_finished or now
    model.Session.commit()


class Consumer:
    """One gather or fetch consumer (see the module docstring)."""

    def __init__(self, stage: str, beat: Heartbeat | None = None,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        from ckanext.harvest import queue

        if stage not in STAGES:
            raise ValueError(f"unknown harvest stage {stage!r}: use one of {', '.join(STAGES)}")
        self.stage = stage
        self.key = routing_key(stage)
        self.callback: Callable[..., Any] = (queue.gather_callback if stage == "gather"
                                             else queue.fetch_callback)
        self.beat = beat
        self.sleep = sleep
        self.db_retries: dict[str, int] = {}

    def _state(self, state: str, message: str | None = None, count: str | None = None) -> None:
        if self.beat:
            self.beat.set(state, message, count=count)

    def run(self, stop: Callable[[], bool] = lambda: False) -> None:
        """Consume until ``stop()`` is true (checked between messages and
        every BLOCK_SECONDS while waiting), reconnecting as needed."""
        backoff = Backoff()
        while not stop():
            try:
                conn = _connection()
                conn.ping()
                if backoff.attempt:
                    log.warning("harvest %s consumer: connected to Redis again", self.stage)
                backoff.reset()
                self._recover(conn)
                log.info("harvest %s consumer waiting on Redis list %s", self.stage, self.key)
                self._consume(conn, stop)
            except redis.RedisError as exc:
                delay = backoff.next()
                log.warning("harvest %s consumer: Redis unreachable (%s); reconnecting in %.0f s",
                            self.stage, _describe(exc), delay)
                self._state("reconnecting to Redis")
                self.sleep(delay)
            except Exception:  # noqa: BLE001 - a bug here must not end the consumer either
                delay = backoff.next()
                log.exception("harvest %s consumer: unexpected error outside a message; "
                              "starting again in %.0f s", self.stage, delay)
                _reset_session()
                self.sleep(delay)

    def _recover(self, conn: redis.Redis) -> None:
        try:
            requeue_lost(self.stage, conn)
        except sa.exc.SQLAlchemyError as exc:
            log.warning("harvest %s consumer: could not look for lost messages: %s", self.stage,
                        _describe(exc))
            _reset_session()
            wait_for_database(self.stage, self.beat, self.sleep)
            requeue_lost(self.stage, conn)

    def _consume(self, conn: redis.Redis, stop: Callable[[], bool]) -> None:
        from ckanext.harvest import queue

        consumer = queue.RedisConsumer(conn, self.key)
        while not stop():
            self._state("waiting")
            item = conn.blpop([self.key], timeout=BLOCK_SECONDS)
            if item is None:
                continue
            body = item[1] if isinstance(item[1], str) else item[1].decode("utf-8", "replace")
            ident = _message_id(self.stage, body)
            if ident is None:
                log.error("harvest %s consumer: dropped a message without %s: %r", self.stage,
                          MESSAGE_KEYS[self.stage], body[:200])
                continue
            # what ckanext-harvest's RedisConsumer.consume notes for a message in hand
            conn.set(consumer.persistance_key(body), str(datetime.datetime.now()))
            self._state("busy", ident)
            self.handle(consumer, body, ident)

    def handle(self, consumer: Any, body: str, ident: str) -> None:
        """Run ckanext-harvest's callback on one message; nothing but a Redis
        error leaves this method."""
        from ckanext.harvest.queue import FakeMethod

        channel = _Channel(consumer)
        try:
            reason = _already_handled(self.stage, ident)
            if reason:
                log.warning("harvest %s consumer: skipped a duplicate message: %s", self.stage,
                            reason)
                channel.basic_ack(body)
                return
            self.callback(channel, FakeMethod(body), channel, body)
        except redis.RedisError:
            _reset_session()
            raise  # reconnect; requeue_lost() puts back what is missing
        except Exception as exc:  # noqa: BLE001 - nothing may end the consumer
            _reset_session()
            if is_connection_error(exc):
                log.warning("harvest %s consumer: lost the database connection while handling "
                            "%s: %s", self.stage, ident, _describe(exc))
                self._retry(consumer, body, ident)
                return
            self._fail(channel, body, ident, exc)
            return
        if not channel.acked:
            # ckanext-harvest returns without an ack when it could not read
            # the job/object (a database connection error): try it again
            self._retry(consumer, body, ident)
            return
        self.db_retries.pop(ident, None)
        self._state("waiting", count="handled")

    def _fail(self, channel: _Channel, body: str, ident: str, exc: BaseException) -> None:
        log.error("harvest %s consumer: %s ended with an unexpected error; going on with the "
                  "next message", self.stage, ident, exc_info=exc)
        try:
            _record_failure(self.stage, ident, exc)
        except Exception:  # noqa: BLE001 - logged; the message is dropped all the same
            _reset_session()
            log.exception("harvest %s consumer: could not record the error of %s", self.stage,
                          ident)
        if not channel.acked:
            channel.basic_ack(body)
        self._state("waiting", count="failed")

    def _retry(self, consumer: Any, body: str, ident: str) -> None:
        wait_for_database(self.stage, self.beat, self.sleep)
        tries = self.db_retries[ident] = self.db_retries.get(ident, 0) + 1
        if tries > MAX_DB_RETRIES:
            self.db_retries.pop(ident, None)
            self._fail(_Channel(consumer), body, ident, RuntimeError(
                f"the database connection was lost {MAX_DB_RETRIES} times while handling it"))
            return
        # back at the head of the queue, and no longer "in hand"
        consumer.redis.lpush(self.key, body)
        consumer.basic_ack(body)
        log.warning("harvest %s consumer: put %s back on the queue (try %d of %d)", self.stage,
                    ident, tries, MAX_DB_RETRIES)


def run_consumer(stage: str) -> None:
    """Consume the gather or fetch queue until the process is stopped."""
    from ckanext.harvest import queue

    if stage not in STAGES:
        raise ValueError(f"unknown harvest stage {stage!r}: use one of {', '.join(STAGES)}")
    backend = tk.config.get("ckan.harvest.mq.type", queue.MQ_TYPE)
    if backend != "redis":
        raise tk.ObjectNotFound(
            f"ckan.harvest.mq.type is {backend!r}: use `ckan harvester {stage}-consumer`, "
            "this consumer is only needed for the Redis backend")
    def terminate(signum: int, frame: Any) -> None:
        raise SystemExit(0)

    # systemd and supervisor stop with SIGTERM: leave through the finally
    # below, so the heartbeat goes at once rather than when it expires
    signal.signal(signal.SIGTERM, terminate)
    beat = Heartbeat(stage, heartbeat_seconds())
    beat.start()
    try:
        Consumer(stage, beat).run()
    finally:
        beat.stop()
        log.info("harvest %s consumer stopped", stage)
