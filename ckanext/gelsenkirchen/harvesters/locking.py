"""One run per harvest source at a time: a PostgreSQL advisory lock.

The import stage of a source (deletion guard and publishing) runs under
:func:`source_lock`, a session-level advisory lock in the CKAN database
keyed on the harvest source's id. A scheduled run in a fetch consumer, a
``ckan harvester run-test`` and a second fetch consumer on the same source
therefore publish one after the other, never at once; the second waits up
to ``ckanext.gelsenkirchen.harvest.lock_wait_seconds`` and then gives up
with :class:`SourceBusy` ("already being harvested").

The lock lives on a connection of its own (autocommit, so no transaction
stays open while it is held); PostgreSQL releases it when that connection
ends, also when the process dies.
"""
from __future__ import annotations

import contextlib
import hashlib
import logging
import time
from collections.abc import Iterator

import sqlalchemy as sa

log = logging.getLogger(__name__)

#: the first key of every lock of this extension ("GK" + 1): keeps them
#: apart from other applications' advisory locks in the same database
LOCK_CLASS = 0x474B0001 & 0x7FFFFFFF
DEFAULT_WAIT_SECONDS = 600
POLL_SECONDS = 0.5


class SourceBusy(Exception):
    """Another process holds the harvest source's lock."""


def lock_key(source_id: str) -> tuple[int, int]:
    """The two 32-bit keys of ``source_id``'s lock (non-negative, so they
    read the same in ``pg_locks``)."""
    digest = hashlib.sha256(source_id.encode("utf-8")).digest()
    return LOCK_CLASS, int.from_bytes(digest[:4], "big") & 0x7FFFFFFF


def wait_seconds() -> float:
    import ckan.plugins.toolkit as tk

    value = tk.config.get("ckanext.gelsenkirchen.harvest.lock_wait_seconds")
    return float(DEFAULT_WAIT_SECONDS if value is None else value)


def holder(conn: sa.engine.Connection, key: tuple[int, int]) -> str:
    """Who holds the lock: the PostgreSQL backend's pid, application and client."""
    row = conn.execute(sa.text(
        "SELECT a.pid, a.application_name, a.client_addr, a.backend_start "
        "FROM pg_locks l JOIN pg_stat_activity a ON a.pid = l.pid "
        "WHERE l.locktype = 'advisory' AND l.granted AND l.classid = :a AND l.objid = :b "
        "AND l.objsubid = 2"), {"a": key[0], "b": key[1]}).first()
    if row is None:
        return "another process"
    who = f"database backend {row.pid}"
    if row.application_name:
        who += f" ({row.application_name})"
    return who + f", connected since {row.backend_start:%Y-%m-%d %H:%M:%S}"


@contextlib.contextmanager
def source_lock(source_id: str, source_name: str, wait: float | None = None,
                engine: sa.engine.Engine | None = None) -> Iterator[None]:
    """Hold the advisory lock of ``source_id`` for the ``with`` block;
    wait up to ``wait`` seconds (default: the site option) for another
    holder, then raise :class:`SourceBusy`."""
    if engine is None:
        from ckan import model
        assert model.meta.engine is not None, "CKAN's database engine is not set up"
        engine = model.meta.engine
    if wait is None:
        wait = wait_seconds()
    key = lock_key(source_id)
    conn = engine.connect().execution_options(isolation_level="AUTOCOMMIT")
    try:
        deadline = time.monotonic() + wait
        waited = False
        while not conn.execute(sa.text("SELECT pg_try_advisory_lock(:a, :b)"),
                               {"a": key[0], "b": key[1]}).scalar():
            if not waited:
                log.info("Harvest source %s is being harvested by %s; waiting up to %.0f s",
                         source_name, holder(conn, key), wait)
                waited = True
            if time.monotonic() >= deadline:
                raise SourceBusy(
                    f"the harvest source {source_name} is already being harvested by "
                    f"{holder(conn, key)}; waited {wait:.0f} s for it to finish")
            time.sleep(POLL_SECONDS)
        if waited:
            log.info("Harvest source %s: the other run finished, going on", source_name)
        try:
            yield
        finally:
            try:
                conn.execute(sa.text("SELECT pg_advisory_unlock(:a, :b)"),
                             {"a": key[0], "b": key[1]})
            except sa.exc.SQLAlchemyError:
                # never hand a connection that may hold the lock back to the pool
                conn.invalidate()
    finally:
        with contextlib.suppress(sa.exc.SQLAlchemyError):
            conn.close()
