"""The harness shared by the harvester benchmarks (:mod:`.bench`,
:mod:`.broadband_bench`): serve generated files over real HTTP on
127.0.0.1, take the test-session lock, create a harvest source per file and
time a first harvest and an unchanged re-harvest through ckanext-harvest
(gather -> fetch -> import) against the databases of an ini file, noting the
peak memory (RSS high-water mark of this process, CKAN included).
"""
from __future__ import annotations

import fcntl
import functools
import http.server
import json
import os
import resource
import tempfile
import threading
import time
import uuid
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the test sessions' lock of CKAN 2.12 (conftest.py): the benchmarks harvest
# into test.ini's databases
LOCK_PATH = os.path.join(tempfile.gettempdir(), "ckanext-gelsenkirchen-tests-ckan2.12.lock")
RUNS = ("first harvest", "unchanged re-harvest")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def peak_mb() -> float:
    """RSS high-water mark of this process in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def serve_and_harvest(ini: str, files: dict[str, tuple[str, bytes]], source_type: str, *,
                      name_prefix: str, title_prefix: str,
                      clear_sources: bool = False) -> dict[str, list[dict[str, Any]]]:
    """Serve ``files`` (format -> (file name, bytes)) over HTTP and harvest
    each twice with a source of ``source_type`` configured with that format;
    returns, per format, the runs of :func:`run_harvests`."""
    with tempfile.TemporaryDirectory() as directory:
        for name, data in files.values():
            with open(os.path.join(directory, name), "wb") as handle:
                handle.write(data)
        server = http.server.ThreadingHTTPServer(
            ("127.0.0.1", 0), functools.partial(_Quiet, directory=directory))
        threading.Thread(target=server.serve_forever, daemon=True).start()
        port = server.server_address[1]
        lock = open(LOCK_PATH, "w")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            print("waiting for a test session to finish (lock)", flush=True)
            fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            return run_harvests(ini, {kind: f"http://127.0.0.1:{port}/{name}"
                                      for kind, (name, _) in files.items()},
                                source_type, name_prefix=name_prefix,
                                title_prefix=title_prefix, clear_sources=clear_sources)
        finally:
            server.shutdown()
            lock.close()


def run_harvests(ini: str, urls: dict[str, str], source_type: str, *, name_prefix: str,
                 title_prefix: str, clear_sources: bool = False,
                 ) -> dict[str, list[dict[str, Any]]]:
    """Per format of ``urls``, a first harvest and an unchanged re-harvest:
    a list of ``{"run", "seconds", "statuses", "report", "peak_mb"}`` where
    ``report`` is the harvest object's report (``{}`` if none)."""
    import ckan.plugins.toolkit as tk
    from ckan.cli import db as ckan_db
    from ckan.cli import load_config
    from ckan.config.middleware import make_app
    from ckan.tests import factories
    from ckanext.harvest import queue
    from ckanext.harvest.model import HarvestObject, HarvestSource
    from ckanext.harvest.tests import factories as harvest_factories
    from ckanext.harvest.tests.lib import run_harvest_job

    app = make_app(load_config(ini))
    flask_app = getattr(app, "apps", {}).get("flask_app", app)
    flask_app = getattr(flask_app, "_wsgi_app", flask_app)
    tk.config["ckanext.gelsenkirchen.harvest.allow_private_addresses"] = "true"
    out: dict[str, list[dict[str, Any]]] = {}
    with flask_app.test_request_context():
        # a test session may have reset the database since setup-db.sh ran:
        # bring the plugins' tables up to date, as the tests' fixtures do
        for plugin in tk.config["ckan.plugins"]:
            if ckan_db.current_revision(plugin) is not None:
                ckan_db._run_migrations(plugin)
        sysadmin = factories.Sysadmin()
        org = factories.Organization()
        harvester = queue.get_harvester(source_type)
        for kind, url in urls.items():
            source = tk.get_action("harvest_source_create")({"user": sysadmin["name"]}, {
                "name": f"{name_prefix}-{kind}-{uuid.uuid4().hex[:8]}",
                "title": f"{title_prefix} {kind}", "url": url, "source_type": source_type,
                "owner_org": org["id"], "config": json.dumps({"format": kind})})
            runs = []
            for label in RUNS:
                job = harvest_factories.HarvestJobObj(source=HarvestSource.get(source["id"]),
                                                      run=False)
                start = time.perf_counter()
                results = run_harvest_job(job, harvester)
                elapsed = time.perf_counter() - start
                obj = HarvestObject.get(next(iter(results.values()))["obj_id"]) if results else None
                report: dict[str, Any] = {}
                if obj is not None:
                    extra = next((e.value for e in obj.extras if e.key == "report"), None)
                    report = json.loads(extra) if extra else {}
                runs.append({"run": label, "seconds": elapsed,
                             "statuses": [r["report_status"] for r in results.values()],
                             "report": report, "peak_mb": peak_mb()})
            out[kind] = runs
            if clear_sources:  # leave the test databases as small as they were
                tk.get_action("harvest_source_clear")({"user": sysadmin["name"]},
                                                      {"id": source["id"]})
    return out


def print_runs(kind: str, amount: int, unit: str, runs: list[dict[str, Any]]) -> None:
    """The runs of one source: time, rate, statuses, peak and where the time went."""
    print(f"\n{kind}: {amount} {unit}")
    for run in runs:
        rate = amount / run["seconds"] if run["seconds"] else 0
        published = run["report"].get("published")
        print(f"  {run['run']:22s} {run['seconds']:6.2f} s  {rate:9.0f} {unit}/s  "
              f"status {','.join(run['statuses'])}"
              + (f"  published {published}" if published is not None else "")
              + f"  peak RSS {run['peak_mb']:.0f} MB")
        if run["report"].get("timings"):
            print("    where the time goes: " + ", ".join(
                f"{k.removesuffix('_s')} {v:.2f} s" for k, v in run["report"]["timings"].items()))


def print_peak() -> None:
    print(f"\npeak memory (RSS high-water mark of this process, incl. CKAN): {peak_mb():.0f} MB")
