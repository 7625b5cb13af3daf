"""PostgreSQL storage: connection pool, tables, writes.

One table holds every core: a row per (core, uniqueKey) with
``stored`` (jsonb returned to clients), ``idx`` (jsonb of typed indexed
values; GIN jsonb_path_ops index for equality/containment filters) and
``tsv`` (field-prefixed lexemes; GIN index for full-text matching).
``seq`` orders documents like Lucene's docids (re-adding moves a document
to the end), which is Solr's tie-break order.
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.extras
from psycopg2.pool import ThreadedConnectionPool

from .analysis import Analyzer, Tokens, build_tsvector
from .documents import PreparedDoc

log = logging.getLogger(__name__)

DDL_LOCK_KEY = 0x70675F736F6C72  # arbitrary constant: "pg_solr"
DDL = [
    """CREATE TABLE IF NOT EXISTS pgsolr_doc (
        core text NOT NULL,
        uid text NOT NULL,
        seq bigint NOT NULL,
        stored jsonb NOT NULL,
        idx jsonb NOT NULL,
        tsv tsvector NOT NULL,
        PRIMARY KEY (core, uid))""",
    "CREATE SEQUENCE IF NOT EXISTS pgsolr_doc_seq",
    "CREATE INDEX IF NOT EXISTS pgsolr_doc_idx_gin ON pgsolr_doc USING gin (idx jsonb_path_ops)",
    "CREATE INDEX IF NOT EXISTS pgsolr_doc_tsv_gin ON pgsolr_doc USING gin (tsv)",
    "CREATE INDEX IF NOT EXISTS pgsolr_doc_core_seq ON pgsolr_doc (core, seq)",
]
# idx is read for nearly every matching row (filters, sort keys, facets):
# keep it uncompressed in the heap tuple (MAIN only compresses as a last
# resort) while the big tsv/stored values are compressed and moved to TOAST.
STORAGE_CHECK = """SELECT attstorage FROM pg_attribute
    WHERE attrelid = 'pgsolr_doc'::regclass AND attname = 'idx'"""
STORAGE_SET = "ALTER TABLE pgsolr_doc ALTER COLUMN idx SET STORAGE MAIN"

UPSERT = """INSERT INTO pgsolr_doc (core, uid, seq, stored, idx, tsv) VALUES %s
    ON CONFLICT (core, uid) DO UPDATE SET seq = EXCLUDED.seq, stored = EXCLUDED.stored,
    idx = EXCLUDED.idx, tsv = EXCLUDED.tsv"""
UPSERT_TEMPLATE = "(%s, %s, nextval('pgsolr_doc_seq'), %s::jsonb, %s::jsonb, %s::tsvector)"


class Store:
    def __init__(self, dsn: str, minconn: int = 1, maxconn: int = 10):
        self.dsn = dsn
        self.pool = ThreadedConnectionPool(minconn, maxconn, dsn)
        # psycopg2's pool raises when exhausted; make callers wait instead
        self._slots = threading.BoundedSemaphore(maxconn)
        self.analyzer = Analyzer()
        self._changed = 0
        self._changed_lock = threading.Lock()

    def close(self) -> None:
        self.pool.closeall()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection; commits on success, rolls back on error."""
        self._slots.acquire()
        try:
            conn = self.pool.getconn()
        except BaseException:
            self._slots.release()
            raise
        broken = False
        try:
            yield conn
            conn.commit()
        except BaseException:
            try:
                conn.rollback()
            except psycopg2.Error:
                broken = True
            raise
        finally:
            if conn.closed:
                broken = True
            self.pool.putconn(conn, close=broken)
            self._slots.release()

    def init_schema(self) -> None:
        """Create tables/indexes if missing; safe when servers start together."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            for stmt in DDL:
                cur.execute(stmt)
            cur.execute(STORAGE_CHECK)
            if cur.fetchone()[0] != "m":
                cur.execute(STORAGE_SET)

    # -- writes -----------------------------------------------------------
    def add(self, cur: Any, core: str, docs: list[PreparedDoc]) -> None:
        # the last version of a uniqueKey in one batch wins, as in Solr
        unique: dict[str, PreparedDoc] = {}
        for d in docs:
            unique.pop(d.uid, None)
            unique[d.uid] = d
        texts = {t for d in unique.values() for vals in d.texts.values() for t in vals}
        analysed: dict[str, Tokens] = {}
        if texts:
            analysed = self.analyzer.analyse(cur, sorted(texts), cache=False)
        rows = []
        for d in unique.values():
            tsv = build_tsvector({f: [analysed[t] for t in vals] for f, vals in d.texts.items()},
                                 d.exact)
            rows.append((core, d.uid, psycopg2.extras.Json(d.stored),
                         psycopg2.extras.Json(d.idx), tsv))
        psycopg2.extras.execute_values(cur, UPSERT, rows, template=UPSERT_TEMPLATE, page_size=200)
        self._note_changes(len(rows))

    def _note_changes(self, n: int) -> None:
        with self._changed_lock:
            self._changed += n

    def maybe_analyze(self) -> None:
        """On commit after bulk changes, refresh planner statistics now
        (autovacuum would take up to a minute; bad estimates make the planner
        prefer the wrong GIN index right after a reindex)."""
        with self._changed_lock:
            changed = self._changed
        if changed < 500:
            return
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT reltuples FROM pg_class WHERE oid = 'pgsolr_doc'::regclass")
            total = max(float(cur.fetchone()[0]), 1.0)
            if changed >= 0.1 * total or changed >= 50000:
                cur.execute("ANALYZE pgsolr_doc")
                with self._changed_lock:
                    self._changed = 0

    def delete_ids(self, cur: Any, core: str, ids: list[str]) -> int:
        cur.execute("DELETE FROM pgsolr_doc WHERE core = %s AND uid = ANY(%s)", (core, ids))
        self._note_changes(cur.rowcount)
        return cur.rowcount

    def delete_where(self, cur: Any, core: str, sql: str, params: list[Any]) -> int:
        cur.execute("DELETE FROM pgsolr_doc WHERE core = %s AND " + sql,  # noqa: S608 - compiled fragment, values are bound
                    [core] + params)
        self._note_changes(cur.rowcount)
        return cur.rowcount

    def cores(self) -> list[tuple[str, int]]:
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT core, count(*) FROM pgsolr_doc GROUP BY core ORDER BY core")
            return list(cur.fetchall())
