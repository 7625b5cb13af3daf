"""Real processes for the harvest fault tests: the consumers as
``ckan -c INI gelsenkirchen harvest-consumer gather|fetch`` subprocesses, a
private Redis and pgsolr to restart or stop, a local HTTP feed that can
misbehave, and a test configuration pointing the subprocesses at them.

The test process itself creates harvest sources and jobs in the test
database (the consumers share it) and reads the results back.
"""
from __future__ import annotations

import contextlib
import http.server
import os
import pathlib
import re
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import ckan.plugins.toolkit as tk
import redis
import sqlalchemy as sa
from ckan import model

ROOT = pathlib.Path(__file__).resolve().parents[2]
BIN = pathlib.Path(sys.executable).parent
CKAN = BIN / "ckan"
PGSOLR_DSN = os.environ.get("PGSOLR_SUITE_DSN",  # scripts/lib.sh, per CKAN version
                            "postgresql://ckan_default@127.0.0.1/gelsenkirchen_pgsolr")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(predicate: Callable[[], Any], timeout: float, what: str,
             interval: float = 0.2) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)


def _stop(proc: subprocess.Popen[Any] | None, sig: int = signal.SIGTERM) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=10)


# --------------------------------------------------------------------------- Redis


class RedisServer:
    """A private redis-server without persistence: a restart loses every key."""

    def __init__(self, workdir: pathlib.Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        binary = shutil.which("redis-server")
        assert binary, "redis-server is not installed"
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.workdir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        client = redis.Redis.from_url(self.url, socket_timeout=1)
        wait_for(lambda: _pings(client), 10, f"redis-server on port {self.port}")

    def stop(self) -> None:
        _stop(self.proc)

    def restart(self, down_seconds: float = 0) -> None:
        self.stop()
        time.sleep(down_seconds)
        self.start()

    def client(self) -> redis.Redis:
        return redis.Redis.from_url(self.url, decode_responses=True)


def _pings(client: redis.Redis) -> bool:
    try:
        return bool(client.ping())
    except redis.RedisError:
        return False


# --------------------------------------------------------------------------- pgsolr


class PgSolr:
    """A private pgsolr on the test index (the same database as the suite's
    search service: another front end to the same documents)."""

    def __init__(self, log: pathlib.Path) -> None:
        self.port = free_port()
        self.log = log
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, core: str = "ckan_test") -> str:
        return f"http://127.0.0.1:{self.port}/solr/{core}"

    def start(self) -> None:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(BIN / "pgsolr"), "serve", "--dsn", PGSOLR_DSN, "--host", "127.0.0.1",
                 "--port", str(self.port)], stdout=out, stderr=subprocess.STDOUT)
        wait_for(lambda: _answers(self.url() + "/admin/ping"), 30, "the private pgsolr")

    def stop(self) -> None:
        _stop(self.proc, signal.SIGKILL)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:  # noqa: S310 - 127.0.0.1
            return bool(response.status == 200)
    except OSError:
        return False


# --------------------------------------------------------------------------- feed


class FeedServer:
    """A local HTTP source: ``bodies[path]`` for a path given one, else
    ``body``. ``mode``: ``ok``, ``slow`` (waits ``delay``
    seconds, then answers), ``together`` (holds each request until a
    second one arrives, at most ``delay`` seconds: two harvests of one
    source get their answers at the same moment), ``stall`` (headers, then nothing), ``reset``
    (closes the connection with a TCP reset), ``truncated`` (announces more
    bytes than it sends)."""

    def __init__(self) -> None:
        self.body = b""
        self.bodies: dict[str, bytes] = {}
        self.content_type = "text/csv; charset=utf-8"
        self.mode = "ok"
        self.delay = 0.0
        self.requests = 0
        self.arrived = threading.Event()
        feed = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def do_GET(self) -> None:  # noqa: N802 - http.server's name
                feed.requests += 1
                if feed.requests >= 2:
                    feed.arrived.set()
                feed.answer(self)

        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    @property
    def url(self) -> str:
        return f"{self.base}/hotspots.csv"

    def answer(self, handler: http.server.BaseHTTPRequestHandler) -> None:
        body, mode = self.bodies.get(handler.path, self.body), self.mode
        if mode == "reset":
            handler.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                          b"\x01\x00\x00\x00\x00\x00\x00\x00")
            handler.connection.close()
            return
        if mode == "slow":
            time.sleep(self.delay)
        if mode == "together":
            self.arrived.wait(self.delay)
        handler.send_response(200)
        handler.send_header("Content-Type", self.content_type)
        handler.send_header("Content-Length", str(len(body) + (4096 if mode == "truncated"
                                                                else 0)))
        handler.end_headers()
        if mode == "stall":
            time.sleep(self.delay)
            return
        handler.wfile.write(body)
        handler.wfile.flush()
        if mode == "truncated":
            handler.close_connection = True

    def __enter__(self) -> FeedServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()


# --------------------------------------------------------------------------- config, processes


def write_ini(path: pathlib.Path, **options: str) -> pathlib.Path:
    """The suite's configuration (test.ini) with ``options`` set in
    [app:main] (and its logging)."""
    text = pathlib.Path(tk.config.get("__file__") or ROOT / "test.ini").read_text()
    head, sep, rest = text.partition("[app:main]\n")
    main, nxt, tail = rest.partition("\n[")
    lines = main.splitlines()
    for key, value in options.items():
        pattern = re.compile(rf"^{re.escape(key)}\s*=")
        lines = [line for line in lines if not pattern.match(line)]
        lines.append(f"{key} = {value}")
    path.write_text(head + sep + "\n".join(lines) + "\n" + nxt + tail)
    return path


def env(solr_url: str, app: str) -> dict[str, str]:
    """The environment of a CKAN subprocess: the search service at
    ``solr_url`` and ``app`` as the application name of its PostgreSQL
    connections (so a test can find and terminate them)."""
    out = {k: v for k, v in os.environ.items() if not k.startswith("CKAN_")}
    out["CKAN_SOLR_URL"] = solr_url
    out["PGAPPNAME"] = app
    out["PYTHONUNBUFFERED"] = "1"
    return out


class Consumer:
    """``ckan -c INI gelsenkirchen harvest-consumer STAGE`` with its log."""

    def __init__(self, ini: pathlib.Path, stage: str, environ: dict[str, str],
                 log: pathlib.Path) -> None:
        self.ini, self.stage, self.environ, self.log = ini, stage, environ, log
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Consumer:
        with open(self.log, "ab") as out:
            self.proc = subprocess.Popen(
                [str(CKAN), "-c", str(self.ini), "gelsenkirchen", "harvest-consumer", self.stage],
                stdout=out, stderr=subprocess.STDOUT, env=self.environ, cwd=ROOT)
        wait_for(lambda: "consumer waiting on Redis list" in self.output()
                 or self.proc is None or self.proc.poll() is not None, 60,
                 f"the {self.stage} consumer to start")
        assert self.alive(), self.output()
        return self

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def stop(self) -> None:
        _stop(self.proc)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


def ckan(ini: pathlib.Path, *args: str, environ: dict[str, str],
         timeout: float = 120, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CKAN), "-c", str(ini), *args], capture_output=True, text=True,
                          env=environ, cwd=ROOT, timeout=timeout, input=stdin)


# --------------------------------------------------------------------------- database


def fresh() -> None:
    """Forget what this process's session read: the consumers wrote since."""
    model.Session.remove()


def terminate_backends(app: str, query_like: str | None = None) -> int:
    """pg_terminate_backend of this test's subprocess connections (by
    application name), optionally only those running a statement LIKE
    ``query_like``; the number terminated."""
    sql = ("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
           "WHERE application_name = :app AND pid <> pg_backend_pid()")
    params: dict[str, Any] = {"app": app}
    if query_like:
        sql += " AND state = 'active' AND query LIKE :q"
        params["q"] = query_like
    with _admin_engine().connect() as conn:
        return int(conn.execute(sa.text(sql), params).scalar() or 0)


def active_statement(app: str, query_like: str) -> bool:
    with _admin_engine().connect() as conn:
        return bool(conn.execute(sa.text(
            "SELECT count(*) FROM pg_stat_activity WHERE application_name = :app "
            "AND state = 'active' AND query LIKE :q"), {"app": app, "q": query_like}).scalar())


_ENGINE: sa.engine.Engine | None = None


def _admin_engine() -> sa.engine.Engine:
    # the postgres superuser may see and end other roles' backends
    global _ENGINE
    if _ENGINE is None:
        url = sa.engine.make_url(tk.config["sqlalchemy.url"])
        _ENGINE = sa.create_engine(url.set(username="postgres", password=None,
                                           database="postgres"),
                                   poolclass=sa.pool.NullPool, isolation_level="AUTOCOMMIT")
    return _ENGINE


@contextlib.contextmanager
def tmpfs(path: pathlib.Path, size: str) -> Iterator[pathlib.Path]:
    """A small tmpfs mounted at ``path`` (root only), unmounted afterwards."""
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                   check=True, capture_output=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False, capture_output=True)


def remount(path: pathlib.Path, options: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{options}", str(path)], check=True,
                   capture_output=True)


def can_mount() -> bool:
    if os.geteuid() != 0 or not shutil.which("mount"):
        return False
    probe = pathlib.Path(f"/tmp/gk-mount-probe-{os.getpid()}")
    try:
        with tmpfs(probe, "64k"):
            return True
    except (subprocess.CalledProcessError, OSError):
        return False
    finally:
        with contextlib.suppress(OSError):
            probe.rmdir()
