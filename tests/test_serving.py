"""CKAN under gunicorn (ckanext.gelsenkirchen.wsgi, gunicorn_conf.py), as
make serve and the systemd unit of docs/operations.md run it."""
from __future__ import annotations

import os
import pathlib
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests

from ckanext.gelsenkirchen import compat

ROOT = pathlib.Path(__file__).resolve().parent.parent
GUNICORN = str(pathlib.Path(sys.executable).with_name("gunicorn"))


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_wsgi_module_needs_an_ini(monkeypatch, tmp_path):
    from ckanext.gelsenkirchen import wsgi
    monkeypatch.delenv("CKAN_INI", raising=False)
    with pytest.raises(RuntimeError, match="CKAN_INI is not set"):
        wsgi.create_app()
    with pytest.raises(RuntimeError, match="is not a file"):
        wsgi.create_app(str(tmp_path / "missing.ini"))
    with pytest.raises(AttributeError):
        wsgi.something_else  # noqa: B018


def test_gunicorn_config_counts(monkeypatch):
    import importlib

    from ckanext.gelsenkirchen import gunicorn_conf
    monkeypatch.setenv("GUNICORN_WORKERS", "5")
    monkeypatch.setenv("GUNICORN_THREADS", "2")
    conf = importlib.reload(gunicorn_conf)
    assert (conf.workers, conf.threads, conf.worker_class) == (5, 2, "gthread")
    monkeypatch.delenv("GUNICORN_WORKERS")
    monkeypatch.delenv("GUNICORN_THREADS")
    importlib.reload(gunicorn_conf)


@pytest.mark.usefixtures("with_plugins", "non_clean_db")
def test_ckan_under_gunicorn_serves_and_stops():
    port = _free_port()
    env = {**os.environ, "CKAN_INI": str(ROOT / "test.ini"), "GUNICORN_WORKERS": "2",
           "GUNICORN_THREADS": "2"}
    proc = subprocess.Popen([GUNICORN, "-c", "python:ckanext.gelsenkirchen.gunicorn_conf",
                             "--bind", f"127.0.0.1:{port}",
                             "ckanext.gelsenkirchen.wsgi:application"],
                            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                            text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                status = requests.get(f"{base}/api/3/action/status_show", timeout=5)
                break
            except requests.RequestException:
                assert proc.poll() is None and time.monotonic() < deadline, \
                    "gunicorn did not start"
                time.sleep(0.5)
        assert status.json()["success"] is True
        assert status.headers["Server"].startswith("gunicorn")
        home = requests.get(base + "/", timeout=30)
        assert home.status_code == 200 and "gk-home-title" in home.text
        # CKAN 2.10: beaker's session cookie on every page, nothing shared
        shared = "private, no-store" if compat.beaker_sessions() else "public, max-age=60"
        assert home.headers["Cache-Control"] == shared
        workers = subprocess.run(["ps", "--ppid", str(proc.pid), "-o", "pid="],
                                 capture_output=True, text=True, check=False).stdout.split()
        assert len(workers) == 2
    finally:
        proc.send_signal(signal.SIGTERM)
        out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out[-2000:]
    assert "Shutting down: Master" in out
