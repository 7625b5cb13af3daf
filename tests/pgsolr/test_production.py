"""``pgsolr serve --server gunicorn``: the production server, as a real process.

It answers as the development server does (same app: documents, search,
document sets, the statement timeout's 503), keeps one process with
threads so its caches are shared, closes on SIGTERM within its graceful
timeout, and stops with the database's error when the database cannot be
reached.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import pysolr
import pytest
import requests

from .conftest import make_doc

PGSOLR = str(Path(sys.executable).with_name("pgsolr"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _start(dsn: str, *extra: str) -> tuple[subprocess.Popen, str]:
    port = _free_port()
    proc = subprocess.Popen([PGSOLR, "serve", "--server", "gunicorn", "--dsn", dsn, "--host",
                             "127.0.0.1", "--port", str(port), *extra],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    url = f"http://127.0.0.1:{port}/solr"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            requests.get(f"{url}/x/admin/ping", timeout=1).raise_for_status()
            return proc, url
        except requests.RequestException:
            if proc.poll() is not None:
                break
            time.sleep(0.2)
    proc.kill()
    pytest.fail("pgsolr under gunicorn did not start: " + (proc.communicate(timeout=10)[0] or ""))


def _stop(proc: subprocess.Popen) -> str:
    proc.send_signal(signal.SIGTERM)
    out, _err = proc.communicate(timeout=30)
    return out


@pytest.fixture(scope="module")
def production(pgsolr_dsn: str) -> Iterator[tuple[subprocess.Popen, str]]:
    proc, url = _start(pgsolr_dsn, "--threads", "4", "--pool-size", "4",
                       "--docsets-min-matches", "2")
    yield proc, url
    if proc.poll() is None:
        _stop(proc)


def test_answers_like_the_development_server(production) -> None:
    _proc, url = production
    core = f"{url}/prod_{uuid.uuid4().hex[:8]}"
    solr = pysolr.Solr(core, always_commit=True)
    solr.add([make_doc(f"d{i}", title=f"Hotspot Nummer {i}") for i in range(5)])
    try:
        assert solr.search("Hotspot").hits == 5
        # broad queries are answered from the document sets of the one worker
        for _ in range(3):
            assert solr.search("*:*", sort="id asc", rows=2).docs[0]["id"] == "d0"
        solr.add([make_doc("d9", title="Neu")])
        assert solr.search("*:*", rows=0).hits == 6
        cores = requests.get(f"{url}/admin/cores", timeout=10)
        assert cores.headers["X-Search-Server"] == "pgsolr"
        assert cores.headers["Server"].startswith("gunicorn")
        assert cores.json()["pgsolr"]["selects answered"]["document sets"] >= 2
    finally:
        solr.delete(q="*:*")


def test_one_worker_process_with_threads(production) -> None:
    proc, _url = production
    children = subprocess.run(["ps", "--ppid", str(proc.pid), "-o", "pid="],
                              capture_output=True, text=True, check=False).stdout.split()
    assert len(children) == 1


def test_timeouts_and_limits_still_apply(pgsolr_dsn: str) -> None:
    proc, url = _start(pgsolr_dsn, "--statement-timeout", "0.001", "--max-scan-docs", "0")
    core = f"{url}/prod_slow_{uuid.uuid4().hex[:8]}"
    try:
        solr = pysolr.Solr(core, always_commit=True)
        solr.add([make_doc(f"s{i}", title=f"Wort{i} " * 50) for i in range(300)])
        r = requests.get(f"{core}/select", params={"q": "title:*o*r*t*", "rows": "0",
                                                   "wt": "json"}, timeout=30)
        assert r.status_code == 503
        assert "statement timeout" in r.json()["error"]["msg"]
        solr.delete(q="*:*")
    finally:
        out = _stop(proc)
    assert proc.returncode == 0, out


def test_sigterm_stops_master_and_worker(pgsolr_dsn: str) -> None:
    proc, _url = _start(pgsolr_dsn)
    children = subprocess.run(["ps", "--ppid", str(proc.pid), "-o", "pid="],
                              capture_output=True, text=True, check=False).stdout.split()
    t0 = time.monotonic()
    out = _stop(proc)
    assert proc.returncode == 0, out
    assert time.monotonic() - t0 < 25
    for pid in children:
        with pytest.raises(ProcessLookupError):
            os.kill(int(pid), 0)
    assert "Shutting down" in out


def test_unreachable_database_stops_with_its_error() -> None:
    port = _free_port()  # nothing listens there
    proc = subprocess.run([PGSOLR, "serve", "--server", "gunicorn", "--dsn",
                           f"postgresql://nobody@127.0.0.1:{port}/none", "--port",
                           str(_free_port())], capture_output=True, text=True, timeout=60)
    assert proc.returncode != 0
    assert "connection" in (proc.stderr + proc.stdout).lower()
