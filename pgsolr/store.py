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
import time
from collections.abc import Iterator
from typing import Any

import psycopg2
import psycopg2.extras
from psycopg2 import sql as pgsql
from psycopg2.pool import ThreadedConnectionPool

from .analysis import Analyzer, Tokens, build_tsvector
from .documents import PreparedDoc
from .errors import SolrError
from .functions import COLUMN_FIELDS
from .schema import Schema

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
# Per-core write generation (storage version 3): bumped in the writing
# transaction before any document row of the core is touched, so readers
# can key caches (facet totals) on it; see Store.bump_generation.
GEN_DDL = """CREATE TABLE IF NOT EXISTS pgsolr_core_gen (
    core text PRIMARY KEY, gen bigint NOT NULL)"""
BUMP_GEN = """INSERT INTO pgsolr_core_gen VALUES (%s, 1)
    ON CONFLICT (core) DO UPDATE SET gen = pgsolr_core_gen.gen + 1"""
# idx is read for nearly every matching row (filters, sort keys, facets):
# keep it uncompressed in the heap tuple (MAIN only compresses as a last
# resort) while the big tsv/stored values are compressed and moved to TOAST.
STORAGE_CHECK = """SELECT attstorage FROM pg_attribute
    WHERE attrelid = 'pgsolr_doc'::regclass AND attname = 'idx'"""
STORAGE_SET = "ALTER TABLE pgsolr_doc ALTER COLUMN idx SET STORAGE MAIN"

# Storage versions; upgrades run automatically on start (see init_schema).
#   1: core, uid, seq, stored, idx, tsv
#   2: + float8 columns for the schema addition's bbox fields (COLUMN_FIELDS),
#      filled from idx for existing rows
#   3: + pgsolr_core_gen (per-core write generation)
STORAGE_VERSION = 3
META_DDL = "CREATE TABLE IF NOT EXISTS pgsolr_meta (key text PRIMARY KEY, value text NOT NULL)"

UPSERT = """INSERT INTO pgsolr_doc (core, uid, seq, stored, idx, tsv,
    minx, maxx, miny, maxy, bbox_area) VALUES %s
    ON CONFLICT (core, uid) DO UPDATE SET seq = EXCLUDED.seq, stored = EXCLUDED.stored,
    idx = EXCLUDED.idx, tsv = EXCLUDED.tsv, minx = EXCLUDED.minx, maxx = EXCLUDED.maxx,
    miny = EXCLUDED.miny, maxy = EXCLUDED.maxy, bbox_area = EXCLUDED.bbox_area"""
assert COLUMN_FIELDS == ("minx", "maxx", "miny", "maxy", "bbox_area")
UPSERT_TEMPLATE = ("(%s, %s, nextval('pgsolr_doc_seq'), %s::jsonb, %s::jsonb, %s::tsvector"
                   + ", %s::float8" * len(COLUMN_FIELDS) + ")")
# default of pgsolr serve --pool-timeout: how long a request waits for a
# free connection before it is answered 503
POOL_TIMEOUT = 10.0
# how long a core's document count (Store.core_docs) is reused
CORE_DOCS_TTL = 60.0


def _column_value(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) \
        else None


class Store:
    def __init__(self, dsn: str, minconn: int = 1, maxconn: int = 10,
                 pool_timeout: float = POOL_TIMEOUT):
        self.dsn = dsn
        self.pool = ThreadedConnectionPool(minconn, maxconn, dsn)
        # psycopg2's pool raises when exhausted; make callers wait instead,
        # for at most pool_timeout seconds
        self._slots = threading.BoundedSemaphore(maxconn)
        self.maxconn = maxconn
        self.pool_timeout = pool_timeout
        self.analyzer = Analyzer()
        self._changed = 0
        self._changed_lock = threading.Lock()
        # core -> (monotonic time, documents)
        self._core_docs: dict[str, tuple[float, int]] = {}

    def close(self) -> None:
        self.pool.closeall()

    @contextlib.contextmanager
    def connection(self) -> Iterator[Any]:
        """A pooled connection; commits on success, rolls back on error.
        Waits at most pool_timeout seconds for a free one (then 503)."""
        if not self._slots.acquire(timeout=self.pool_timeout):
            raise SolrError(f"pgsolr: all {self.maxconn} database connections stayed busy for "
                            f"{self.pool_timeout:g} s (pgsolr serve --pool-size, --pool-timeout)",
                            503)
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

    def init_schema(self, schema: Schema | None = None) -> None:
        """Create tables/indexes if missing and upgrade older storage in
        place; idempotent, and safe when servers start together (advisory
        lock, one transaction)."""
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(%s)", (DDL_LOCK_KEY,))
            for stmt in DDL:
                cur.execute(stmt)
            cur.execute(STORAGE_CHECK)
            if cur.fetchone()[0] != "m":
                cur.execute(STORAGE_SET)
            cur.execute(META_DDL)
            cur.execute("SELECT value FROM pgsolr_meta WHERE key = 'storage_version'")
            row = cur.fetchone()
            version = int(row[0]) if row else 1
            if version < 2:
                self._upgrade_2(cur)
            if version < 3:
                cur.execute(GEN_DDL)
                log.info("pgsolr storage upgraded to version 3: per-core write generations")
            if version != STORAGE_VERSION:
                cur.execute("""INSERT INTO pgsolr_meta VALUES ('storage_version', %s)
                    ON CONFLICT (key) DO UPDATE SET value = EXCLUDED.value""",
                            (str(STORAGE_VERSION),))
            self._set_compression(cur)
            self._give_to_database_owner(cur)
            if schema is not None:
                self._upgrade_ngrams(cur, schema)

    @staticmethod
    def _give_to_database_owner(cur: Any) -> None:
        """pgsolr's tables belong to the database's owner, whoever created
        them: a server started as a superuser and one started as the owner
        (e.g. ``make bench-search``) can then share the database."""
        cur.execute("""SELECT pg_get_userbyid(d.datdba), r.rolsuper
            FROM pg_database d, pg_roles r
            WHERE d.datname = current_database() AND r.rolname = current_user""")
        owner, superuser = cur.fetchone()
        if not superuser:
            return
        for kind, name in (("TABLE", "pgsolr_doc"), ("TABLE", "pgsolr_meta"),
                           ("TABLE", "pgsolr_core_gen"), ("SEQUENCE", "pgsolr_doc_seq")):
            cur.execute("SELECT pg_get_userbyid(relowner) FROM pg_class WHERE oid = %s::regclass",
                        (name,))
            if cur.fetchone()[0] != owner:
                cur.execute(pgsql.SQL("ALTER {} {} OWNER TO {}").format(
                    pgsql.SQL(kind), pgsql.Identifier(name), pgsql.Identifier(owner)))

    @staticmethod
    def _set_compression(cur: Any) -> None:
        """lz4 for the TOASTed columns (stored, tsv): compresses several times
        faster than the default pglz, which shows in indexing throughput.
        Affects new values only; skipped where PostgreSQL lacks lz4."""
        cur.execute("""SELECT count(*) FROM pg_attribute WHERE attrelid = 'pgsolr_doc'::regclass
            AND attname IN ('stored', 'tsv') AND attcompression = 'l'""")
        if cur.fetchone()[0] == 2:
            return
        cur.execute("SAVEPOINT pgsolr_lz4")
        try:
            cur.execute("ALTER TABLE pgsolr_doc ALTER COLUMN stored SET COMPRESSION lz4, "
                        "ALTER COLUMN tsv SET COMPRESSION lz4")
            cur.execute("RELEASE SAVEPOINT pgsolr_lz4")
        except psycopg2.Error as exc:
            cur.execute("ROLLBACK TO SAVEPOINT pgsolr_lz4")
            log.info("lz4 compression not available, keeping pglz: %s", str(exc).strip())

    @staticmethod
    def _upgrade_2(cur: Any) -> None:
        for col in COLUMN_FIELDS:
            cur.execute(f"ALTER TABLE pgsolr_doc ADD COLUMN IF NOT EXISTS {col} float8")
        sets = ", ".join(
            f"{c} = CASE WHEN jsonb_typeof(idx->'{c}') = 'number' THEN (idx->>'{c}')::float8 END"
            for c in COLUMN_FIELDS)
        cur.execute(f"UPDATE pgsolr_doc SET {sets} WHERE idx ?| %s",  # noqa: S608 - fixed names
                    (list(COLUMN_FIELDS),))
        log.info("pgsolr storage upgraded to version 2: %d rows got bbox columns", cur.rowcount)

    @staticmethod
    def _upgrade_ngrams(cur: Any, schema: Schema) -> None:
        """Rows written before a field had n-gram analysis (or with other gram
        sizes) get that field's lexemes rebuilt from its stored values."""
        for name, fld in schema.fields.items():
            if fld.ngram is None or not fld.indexed:
                continue
            key = f"ngram:{name}:{fld.ngram}"
            cur.execute("SELECT 1 FROM pgsolr_meta WHERE key = %s", (key,))
            if cur.fetchone():
                continue
            if not fld.stored:
                log.warning("field %s is not stored: reindex to apply its n-gram analysis", name)
            else:
                cur.execute("SELECT core, uid, stored->%s FROM pgsolr_doc WHERE stored ? %s",
                            (name, name))
                rows = []
                for core, uid, value in cur.fetchall():
                    values = value if isinstance(value, list) else [value]
                    tsv = build_tsvector({}, None, {name: (fld.ngram, [str(v) for v in values])})
                    rows.append((core, uid, tsv))
                psycopg2.extras.execute_values(
                    cur, """UPDATE pgsolr_doc d SET tsv = ts_delete(d.tsv, ARRAY(
                        SELECT u.lexeme FROM unnest(d.tsv) AS u
                        WHERE starts_with(u.lexeme, v.prefix))) || v.t::tsvector
                        FROM (VALUES %s) AS v(core, uid, t, prefix)
                        WHERE d.core = v.core AND d.uid = v.uid""",
                    [r + (name + ":",) for r in rows], page_size=500)
                log.info("pgsolr: n-gram lexemes of %s rebuilt for %d rows", name, len(rows))
            cur.execute("INSERT INTO pgsolr_meta VALUES (%s, '1') ON CONFLICT DO NOTHING", (key,))

    # -- writes -----------------------------------------------------------
    @staticmethod
    def bump_generation(cur: Any, core: str) -> None:
        """Count a write to ``core`` in its generation. Called before the
        write touches any document row: the generation row is then always the
        first lock a writing transaction takes on a core, so concurrent
        writers queue there instead of deadlocking."""
        cur.execute(BUMP_GEN, (core,))

    @staticmethod
    def generation(cur: Any, core: str) -> int:
        cur.execute("SELECT gen FROM pgsolr_core_gen WHERE core = %s", (core,))
        row = cur.fetchone()
        return int(row[0]) if row else 0

    def add(self, cur: Any, core: str, docs: list[PreparedDoc]) -> None:
        if not docs:
            return
        self.bump_generation(cur, core)
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
                                 d.exact, d.ngrams)
            rows.append((core, d.uid, psycopg2.extras.Json(d.stored),
                         psycopg2.extras.Json(d.idx), tsv,
                         *(_column_value(d.idx.get(c)) for c in COLUMN_FIELDS)))
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
        self.bump_generation(cur, core)
        cur.execute("DELETE FROM pgsolr_doc WHERE core = %s AND uid = ANY(%s)", (core, ids))
        self._note_changes(cur.rowcount)
        return cur.rowcount

    def delete_where(self, cur: Any, core: str, sql: str, params: list[Any]) -> int:
        self.bump_generation(cur, core)
        cur.execute("DELETE FROM pgsolr_doc WHERE core = %s AND " + sql,  # noqa: S608 - compiled fragment, values are bound
                    [core] + params)
        self._note_changes(cur.rowcount)
        return cur.rowcount

    def core_docs(self, cur: Any, core: str) -> int:
        """The core's document count, at most CORE_DOCS_TTL seconds old."""
        now = time.monotonic()
        hit = self._core_docs.get(core)
        if hit is not None and now - hit[0] < CORE_DOCS_TTL:
            return hit[1]
        cur.execute("SELECT count(*) FROM pgsolr_doc WHERE core = %s", (core,))
        count = int(cur.fetchone()[0])
        if len(self._core_docs) >= 1000:
            self._core_docs.clear()
        self._core_docs[core] = (now, count)
        return count

    def cores(self) -> list[tuple[str, int]]:
        with self.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT core, count(*) FROM pgsolr_doc GROUP BY core ORDER BY core")
            return list(cur.fetchall())
