"""Health checks behind ``ckan gelsenkirchen doctor``.

Every check is a small function that reads the CKAN configuration, looks at
one part of the installation and returns a :class:`CheckResult`; it never
raises and never changes anything (the DataStore probe table lives in a
transaction that is rolled back). The CLI in ``cli.py`` only prints the
results; tests call the functions directly.

What each check means and how to fix its failures: docs/doctor.md.
"""
from __future__ import annotations

import dataclasses
import datetime
import importlib.metadata
import json
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import ckan.plugins.toolkit as tk
import click
import redis
import requests
import sqlalchemy as sa
from sqlalchemy.engine import make_url
from sqlalchemy.pool import NullPool

from ckanext.gelsenkirchen import compat
from ckanext.gelsenkirchen.harvesters.runs import check_runs, own_source_types

# The plugin line the README recommends. The harvester plugins of this
# extension go right after ``gelsenkirchen``; they are listed when their
# entry points are installed (a checkout without the package metadata, e.g.
# an uninstalled source tree, lacks them).
_BASE_PLUGINS = (
    "gelsenkirchen scheming_datasets spatial_metadata spatial_query harvest dcat "
    "datastore datatables_view activity"
)
_OWN_HARVESTERS = ("gelsenkirchen_wifi_harvester", "gelsenkirchen_broadband_harvester")


def _installed_plugins() -> set[str]:
    return {ep.name for ep in importlib.metadata.entry_points(group="ckan.plugins")}


def _recommended_plugins() -> str:
    installed = _installed_plugins()
    names = _BASE_PLUGINS.split()
    harvesters = [name for name in _OWN_HARVESTERS if name in installed]
    return " ".join(names[:1] + harvesters + names[1:])


RECOMMENDED_PLUGINS: str = _recommended_plugins()

# Plugins whose templates and hooks ``gelsenkirchen`` must override, i.e. that
# must come after it in ckan.plugins.
MUST_FOLLOW_GELSENKIRCHEN = ("scheming_datasets", "spatial_metadata", "spatial_query",
                             "harvest", "dcat")

TIMEOUT_SECONDS = 5


@dataclasses.dataclass
class CheckResult:
    """Outcome of one check as the operator sees it."""

    name: str
    ok: bool
    detail: str
    fix: str = ""
    skipped: bool = False

    @property
    def status(self) -> str:
        if self.skipped:
            return "SKIP"
        return " OK " if self.ok else "FAIL"

    def line(self) -> str:
        text = f"[{self.status}] {self.name}: {self.detail}"
        if not self.ok and self.fix:
            text += f" \u2014 {self.fix}"
        return text

    def as_dict(self) -> dict[str, Any]:
        return {"name": self.name, "ok": self.ok, "skipped": self.skipped,
                "status": self.status.strip(), "detail": self.detail, "fix": self.fix}


# --------------------------------------------------------------------------- helpers


def _ini() -> str:
    return tk.config.get("__file__") or "/etc/ckan/default/ckan.ini"


def _plugins(plugins: Iterable[str] | str | None = None) -> list[str]:
    if plugins is None:
        plugins = tk.config.get("ckan.plugins") or []
    if isinstance(plugins, str):
        plugins = plugins.split()
    return list(plugins)


def _safe_url(url: str) -> str:
    """``url`` with its password replaced by ``***``."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return url
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _short(exc: BaseException) -> str:
    """One line that says why a connection failed, without a stack of wrappers."""
    text = str(exc) or type(exc).__name__
    for needle, say in (("Connection refused", "connection refused"),
                        ("timed out", "timed out"),
                        ("Name or service not known", "unknown host"),
                        ("nodename nor servname", "unknown host"),
                        ("password authentication failed", "password authentication failed"),
                        ("does not exist", None)):
        if needle in text:
            if say is None:  # keep PostgreSQL's own "database ... does not exist"
                match = re.search(r'(?:database|role|relation) "[^"]*" does not exist', text)
                return match.group(0).strip() if match else text.splitlines()[0]
            return say
    first = text.strip().splitlines()[0] if text.strip() else text
    return first if len(first) <= 200 else first[:197] + "..."


def _engine(url: str) -> sa.engine.Engine:
    return sa.create_engine(url, poolclass=NullPool,
                            connect_args={"connect_timeout": TIMEOUT_SECONDS})


def _utcnow() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC).replace(tzinfo=None)


def _minutes(delta: datetime.timedelta) -> int:
    return int(delta.total_seconds() // 60)


# --------------------------------------------------------------------------- 0. CKAN


def check_ckan_version(version: str | None = None) -> CheckResult:
    """The installed CKAN (or ``version``) is one the extension supports, and
    whether it is exactly the release CI tests (compat.TESTED_RELEASES)."""
    support = compat.ckan_support(version)
    tested = ", ".join(compat.TESTED_RELEASES.values())
    return CheckResult("ckan", support.supported, support.describe(),
                       "" if support.supported else f"install CKAN {tested}")


# --------------------------------------------------------------------------- 1. database


def _pending_revisions(plugin: str) -> list[str]:
    """Revisions not yet applied for ``plugin`` ("" = CKAN core), in the order
    ``ckan db upgrade`` will apply them.

    Uses the same functions as ``ckan db pending-migrations``: the current
    revision comes from ``ckan.cli.db.current_revision`` (alembic against
    ``sqlalchemy.url``); only the list of missing revisions is read from the
    plugin's alembic script directory.
    """
    from alembic.script import ScriptDirectory
    from ckan.cli import db as ckan_db

    current = ckan_db.current_revision(plugin)
    if not current or current.endswith("(head)"):
        return []
    with ckan_db._repo_for_plugin(plugin) as repo:
        repo.setup_migration_version_control()
        script = ScriptDirectory.from_config(repo.alembic_config)
        lower = None if current == "base" else current.split()[0]
        newest_first = [rev.revision for rev in script.iterate_revisions("heads", lower)]
        return newest_first[::-1]


def check_database(plugins: Iterable[str] | str | None = None) -> CheckResult:
    """``sqlalchemy.url`` answers and neither core nor a plugin has pending migrations."""
    name = "database"
    url = tk.config.get("sqlalchemy.url") or ""
    ini = _ini()
    engine = None
    try:
        engine = _engine(url)
        with engine.connect() as conn:
            version = conn.scalar(sa.text("SHOW server_version"))
    except Exception as exc:
        return CheckResult(name, False, f"cannot connect to {_safe_url(url)}: {_short(exc)}",
                           "start PostgreSQL (systemctl start postgresql) or fix sqlalchemy.url "
                           f"in {ini}")
    finally:
        if engine is not None:
            engine.dispose()

    from ckan.model import init_model, meta

    pending: list[str] = []
    unchecked: list[str] = []
    # CKAN core's alembic env.py re-binds the model to its own engine
    # (init_model); put the application's engine back afterwards.
    engine_before = meta.engine
    try:
        for plugin in [""] + _plugins(plugins):
            try:
                revisions = _pending_revisions(plugin)
            except click.Abort:  # ckan.cli.db: plugin enabled in the config but not loaded
                unchecked.append(plugin)
                continue
            except Exception as exc:
                return CheckResult(name, False, f"cannot read the migration state of "
                                   f"{plugin or 'CKAN core'}: {_short(exc)}",
                                   f"ckan -c {ini} db upgrade")
            if revisions:
                label = plugin or "CKAN core"
                shown = ", ".join(revisions[:5]) + (", ..." if len(revisions) > 5 else "")
                pending.append(f"{label}: {len(revisions)} pending ({shown})")
    finally:
        if engine_before is not None and meta.engine is not engine_before:
            alembic_engine = meta.engine
            init_model(engine_before)
            if alembic_engine is not None:
                alembic_engine.dispose()

    where = f"{_safe_url(url)} (PostgreSQL {str(version).split()[0]})"
    if pending:
        return CheckResult(name, False, f"{where}: migrations pending for " + "; ".join(pending),
                           f"ckan -c {ini} db upgrade (or ckan -c {ini} db pending-migrations "
                           "--apply for the plugins only)")
    detail = f"{where}: no pending migrations for CKAN core and enabled plugins"
    if unchecked:
        detail += f" (not loaded, not checked: {', '.join(unchecked)})"
    return CheckResult(name, True, detail)


# --------------------------------------------------------------------------- 2. DataStore


def check_datastore(plugins: Iterable[str] | str | None = None) -> CheckResult:
    """The DataStore write role can create tables; the read role connects and cannot write.

    Mirrors ``DatastorePostgresqlBackend._check_urls_and_permissions``; the
    probe table is created in a transaction that is always rolled back.
    """
    name = "datastore"
    if "datastore" not in _plugins(plugins):
        return CheckResult(name, True, "datastore plugin not enabled", skipped=True)
    ini = _ini()
    write_url = tk.config.get("ckan.datastore.write_url") or ""
    read_url = tk.config.get("ckan.datastore.read_url") or ""
    ckan_url = tk.config.get("sqlalchemy.url") or ""
    if not write_url or not read_url:
        return CheckResult(name, False, "ckan.datastore.write_url and ckan.datastore.read_url "
                           "must both be set", f"set them in {ini}")
    write, read = make_url(write_url), make_url(read_url)
    ckan = make_url(ckan_url) if ckan_url else None
    db_name = write.database or "datastore_default"
    set_permissions = (f"ckan -c {ini} datastore set-permissions | sudo -u postgres psql "
                       f"--set ON_ERROR_STOP=1 -d {db_name}")
    if ckan is not None and (ckan.host, ckan.port, ckan.database) == (
            read.host, read.port, read.database):
        return CheckResult(name, False, "CKAN and the DataStore use the same database "
                           f"({read.database})", f"give the DataStore its own database in {ini}")
    if write_url == read_url:
        return CheckResult(name, False, "ckan.datastore.write_url and read_url are the same "
                           "(the read URL must use a read-only role)",
                           f"point read_url at the read-only role, then: {set_permissions}")

    probe = "_gelsenkirchen_doctor_probe"
    engine = _engine(write_url)
    try:
        with engine.connect() as conn:
            trans = conn.begin()
            try:
                conn.execute(sa.text(f"CREATE TABLE public.{probe} (id integer)"))
                writable_by_reader = [
                    privilege for privilege in ("INSERT", "UPDATE", "DELETE")
                    if conn.scalar(sa.select(sa.func.has_table_privilege(
                        read.username, f"public.{probe}", privilege)))
                ]
            finally:
                trans.rollback()
    except Exception as exc:
        return CheckResult(name, False, f"write URL {_safe_url(write_url)} cannot create a "
                           f"table: {_short(exc)}",
                           f"check ckan.datastore.write_url, then: {set_permissions}")
    finally:
        engine.dispose()

    engine = _engine(read_url)
    try:
        with engine.connect() as conn:
            row = conn.execute(sa.text(
                "SELECT current_user, has_schema_privilege('public', 'CREATE'), "
                "(SELECT rolsuper FROM pg_roles WHERE rolname = current_user)")).one()
            # (closing the connection ends its transaction: SQLAlchemy 1.4 of
            # CKAN 2.10/2.11 has no Connection.rollback outside a begin())
    except Exception as exc:
        return CheckResult(name, False, f"read URL {_safe_url(read_url)} cannot connect: "
                           f"{_short(exc)}",
                           f"create the read-only role or fix ckan.datastore.read_url, then: "
                           f"{set_permissions}")
    finally:
        engine.dispose()
    role, can_create, superuser = row
    problems = []
    if superuser:
        problems.append(f"read role {role} is a superuser")
    if can_create:
        problems.append(f"read role {role} can create tables in schema public")
    if writable_by_reader:
        problems.append(f"read role {role} would get {'/'.join(writable_by_reader)} on new "
                        "DataStore tables")
    if problems:
        return CheckResult(name, False, "the read URL is not read-only: " + "; ".join(problems),
                           set_permissions)
    return CheckResult(name, True, f"write role {write.username} can create tables in "
                       f"{db_name}; read role {role} connects and is read-only")


# --------------------------------------------------------------------------- 3. Redis


def check_redis() -> CheckResult:
    """``ckan.redis.url`` answers PING.

    ``ckan.lib.redis.connect_to_redis`` caches its connection pool for the
    whole process and has no timeouts, so the check opens its own short-lived
    connection to the configured URL instead (same URL, same client library).
    """
    name = "redis"
    url = tk.config.get("ckan.redis.url") or ""
    try:
        conn = redis.Redis.from_url(url, socket_connect_timeout=TIMEOUT_SECONDS,
                                    socket_timeout=TIMEOUT_SECONDS)
        conn.ping()
        version = conn.info("server").get("redis_version", "?")
        conn.close()
    except Exception as exc:
        return CheckResult(name, False, f"cannot connect to {_safe_url(url)}: {_short(exc)}",
                           "start Redis (systemctl start redis-server) or fix ckan.redis.url")
    return CheckResult(name, True, f"{_safe_url(url)} answers (Redis {version})")


# --------------------------------------------------------------------------- 4. search


def _search_server_kind(solr_url: str) -> str:
    """"pgsolr" when the ping answer names it (header or body), "Solr" otherwise."""
    try:
        res = requests.get(solr_url.rstrip("/") + "/admin/ping", params={"wt": "json"},
                           timeout=TIMEOUT_SECONDS)
    except requests.RequestException:
        return "Solr"
    headers = " ".join(f"{key} {value}" for key, value in res.headers.items())
    if "pgsolr" in headers.lower() or "pgsolr" in res.text[:4096].lower():
        return "pgsolr"
    return "Solr"


def check_search() -> CheckResult:
    """``solr_url`` answers a query and its schema version is one CKAN accepts."""
    from ckan.lib.search import SearchError, check_solr_schema_version
    from ckan.lib.search.common import make_connection

    name = "search"
    url = tk.config.get("solr_url") or ""
    port = urlsplit(url).port or 8983
    start = (f"start pgsolr (pgsolr serve --dsn postgresql://USER@HOST/gelsenkirchen_pgsolr "
             f"--port {port}) or Solr, or fix solr_url in {_ini()}")
    if not url:
        return CheckResult(name, False, "solr_url is not set", start)
    try:
        with compat.search_url_of_config():
            make_connection().search(q="*:*", rows=0)
    except Exception as exc:
        return CheckResult(name, False, f"cannot reach the search service at {_safe_url(url)}: "
                           f"{_short(exc)}", start)
    kind = _search_server_kind(url)
    try:
        with compat.search_url_of_config():
            accepted = check_solr_schema_version()
    except SearchError as exc:
        return CheckResult(name, False, f"{kind} at {_safe_url(url)}: {exc}",
                           f"load the schema of this CKAN ({compat.solr_schema_name()}) into the "
                           "core (pgsolr: run it with this CKAN installed; Solr: "
                           "ckan/config/solr/schema.xml or `pgsolr configset`)")
    except Exception as exc:
        return CheckResult(name, False, f"{kind} at {_safe_url(url)}: cannot read the schema: "
                           f"{_short(exc)}", "check the search service log")
    if not accepted:
        return CheckResult(name, False, f"{kind} at {_safe_url(url)} stopped answering", start)
    return CheckResult(name, True, f"{kind} at {_safe_url(url)} answers; schema version accepted")


def _served_schema(url: str) -> str:
    """The schema.xml the search service serves (Solr's managed schema API,
    else the classic file), as CKAN reads it for its version check."""
    auth = None
    if tk.config.get("solr_user"):
        auth = (tk.config.get("solr_user"), tk.config.get("solr_password") or "")
    base = url.rstrip("/")
    last: Exception | None = None
    for path, params in (("/schema", {"wt": "schema.xml"}),
                         ("/admin/file/", {"file": "schema.xml"})):
        try:
            res = requests.get(base + path, params=params, auth=auth, timeout=TIMEOUT_SECONDS)
            res.raise_for_status()
            return res.text
        except requests.RequestException as exc:
            last = exc
    raise RuntimeError(_short(last) if last else "no answer") from None


def missing_index_fields(schema_xml: str) -> dict[str, list[str]]:
    """Fields this extension indexes that ``schema_xml`` lacks, by what needs
    them. CKAN's schema ends with a catch-all dynamic field ``*`` (a single
    string), so a field counts only with the kind the extension needs."""
    from ckanext.gelsenkirchen.logic.search import FACET_FIELDS
    from pgsolr.schema import NUMERIC, STRING, TEXT, Field, Schema, addition_field_names

    def numeric(f: Field) -> bool:
        return f.kind in NUMERIC

    def facet(f: Field) -> bool:
        return f.kind == STRING and f.multi

    def text(f: Field) -> bool:
        return f.kind == TEXT

    schema = Schema(schema_xml)
    needs: list[tuple[str, list[str], Callable[[Field], bool]]] = [
        ("ckanext-spatial's bbox search (float fields of pgsolr/schema-addition.xml)",
         addition_field_names("float"), numeric),
        ("the facets (multi-valued string fields vocab_*)",
         [f for f in FACET_FIELDS if f.startswith("vocab_")], facet),
        ("the schema's own fields (text fields extras_*)", ["extras_contact_name"], text),
    ]
    missing = {}
    for why, names, fits in needs:
        lacking = [n for n in names if (f := schema.field(n)) is None or not fits(f)]
        if lacking:
            missing[why] = lacking
    return missing


def check_search_schema() -> CheckResult:
    """The search schema has every field this extension indexes."""
    name = "search schema"
    url = tk.config.get("solr_url") or ""
    if not url:
        return CheckResult(name, False, "solr_url is not set", "set solr_url")
    kind = _search_server_kind(url)
    try:
        missing = missing_index_fields(_served_schema(url))
    except Exception as exc:
        return CheckResult(name, False, f"cannot read the schema of {kind} at "
                           f"{_safe_url(url)}: {_short(exc)}", "see the search check above")
    if missing:
        detail = "; ".join(f"{', '.join(names)} for {why}" for why, names in missing.items())
        return CheckResult(name, False, f"{kind} at {_safe_url(url)} lacks {detail}",
                           "load the merged schema into the core (pgsolr print-schema prints "
                           "it; docs/search.md), reload the core, then ckan search-index rebuild")
    return CheckResult(name, True, f"{kind} at {_safe_url(url)} has every field the "
                       "extension indexes")


# --------------------------------------------------------------------------- 5. plugin order


def check_plugin_order(plugins: Iterable[str] | str | None = None) -> CheckResult:
    """``gelsenkirchen`` precedes the plugins it overrides; harvesters have ``harvest``."""
    name = "plugin order"
    enabled = _plugins(plugins)
    position = {plugin: index for index, plugin in reversed(list(enumerate(enabled)))}
    problems = []
    if "gelsenkirchen" not in position:
        problems.append("gelsenkirchen is not in ckan.plugins")
    else:
        late = [plugin for plugin in MUST_FOLLOW_GELSENKIRCHEN
                if plugin in position and position[plugin] < position["gelsenkirchen"]]
        if late:
            one = len(late) == 1
            problems.append(f"{', '.join(late)} come{'s' if one else ''} before gelsenkirchen, "
                            f"so {'its' if one else 'their'} templates and hooks win over "
                            "gelsenkirchen's")
    if ("spatial_metadata" in position and "spatial_query" in position
            and position["spatial_query"] < position["spatial_metadata"]):
        problems.append("spatial_query comes before spatial_metadata")
    orphans = [plugin for plugin in enabled if plugin.endswith("_harvester")]
    if orphans and "harvest" not in position:
        problems.append(f"{', '.join(orphans)} need{'s' if len(orphans) == 1 else ''} the "
                        "harvest plugin, which is not enabled")
    if problems:
        return CheckResult(name, False, "; ".join(problems),
                           f"use ckan.plugins = {RECOMMENDED_PLUGINS} (then any other plugins)")
    return CheckResult(name, True, f"ckan.plugins = {' '.join(enabled)}")


# --------------------------------------------------------------------------- 6. harvest consumers


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


# --------------------------------------------------------------------------- 7. stuck jobs


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


# --------------------------------------------------------------------------- 8. last runs


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


# --------------------------------------------------------------------------- all


CHECKS: list[tuple[str, Callable[[], CheckResult]]] = [
    ("ckan", check_ckan_version),
    ("database", check_database),
    ("datastore", check_datastore),
    ("redis", check_redis),
    ("search", check_search),
    ("search schema", check_search_schema),
    ("plugin order", check_plugin_order),
    ("harvest consumers", check_harvest_consumers),
    ("harvest jobs", check_stuck_harvest_jobs),
    # the last run of each source: this extension's sources in words
    # (harvesters/runs.py, with the run history), other harvesters' by errors
    ("harvest runs", check_harvest_runs),
]


def run_all() -> list[CheckResult]:
    """Run every check; an unexpected error becomes a failed result, not a traceback."""
    results = []
    for name, check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # a bug in a check must not hide the other checks
            results.append(CheckResult(name, False, f"check crashed: {type(exc).__name__}: "
                                       f"{_short(exc)}", "report this as a bug"))
    return results
