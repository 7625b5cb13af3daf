"""The doctor's checks of the services CKAN runs on: the CKAN version,
PostgreSQL (database and its migrations, DataStore roles) and Redis."""
from __future__ import annotations

from collections.abc import Iterable

import ckan.plugins.toolkit as tk
import click
import redis
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ckanext.gelsenkirchen import compat
from ckanext.gelsenkirchen.doctor.common import (
    TIMEOUT_SECONDS,
    CheckResult,
    _engine,
    _ini,
    _plugins,
    _safe_url,
    _short,
)

# --------------------------------------------------------------------------- CKAN


def check_ckan_version(version: str | None = None) -> CheckResult:
    """The installed CKAN (or ``version``) is one the extension supports, and
    whether it is exactly the release CI tests (compat.TESTED_RELEASES)."""
    support = compat.ckan_support(version)
    tested = ", ".join(compat.TESTED_RELEASES.values())
    return CheckResult("ckan", support.supported, support.describe(),
                       "" if support.supported else f"install CKAN {tested}")


# --------------------------------------------------------------------------- database


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


# --------------------------------------------------------------------------- DataStore


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


# --------------------------------------------------------------------------- Redis


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
