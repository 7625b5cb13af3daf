"""``make bench-load BENCH_ARGS=--harvest=20``: harvesting while the portal
is under load (issue 13, item 7). While locust's clients load the theme's
gunicorn, twenty WiFi sources are harvested at once by one gather and two
fetch consumers (real processes, the bench portal's Redis database); then
``ckan gelsenkirchen verify`` checks every published dataset against its
harvest object and the hotspot count against the feed, and no job may be
left unfinished.

The feeds are city CSVs served on 127.0.0.1 (the bench ini allows private
addresses, as test.ini does); their ids change with every bench run, so a
re-run replaces every row instead of finding nothing to do.
"""
from __future__ import annotations

import http.server
import json
import pathlib
import subprocess
import threading
import time
from collections.abc import Callable
from typing import Any

from bench.portal import ROOT, VENV_BIN, stop_process
from tests.harvesters.wifi.support import city_csv, hotspots

# every wait is bounded: a stuck job is reported, never waited for forever
JOB_TIMEOUT = 900
POLL_SECONDS = 3


class Feeds:
    """``/wlan-NN.csv`` on a free port of 127.0.0.1, in a thread."""

    def __init__(self, bodies: dict[str, bytes]) -> None:
        def handler(*args: Any) -> http.server.BaseHTTPRequestHandler:
            return _FeedHandler(bodies, *args)
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _FeedHandler(http.server.BaseHTTPRequestHandler):
    def __init__(self, bodies: dict[str, bytes], *args: Any) -> None:
        self.bodies = bodies
        super().__init__(*args)

    def do_GET(self) -> None:  # noqa: N802 - http.server's name
        body = self.bodies.get(self.path)
        self.send_response(200 if body is not None else 404)
        self.send_header("Content-Type", "text/csv; charset=utf-8")
        self.send_header("Content-Length", str(len(body or b"")))
        self.end_headers()
        self.wfile.write(body or b"")

    def log_message(self, *args: Any) -> None:
        pass


class HarvestUnderLoad:
    """Sources, consumers and jobs of one bench run; :meth:`start` queues
    the jobs, :meth:`finish` waits for them and checks the result."""

    def __init__(self, ini: pathlib.Path, act: Callable[..., dict], count: int,
                 out: pathlib.Path) -> None:
        self.ini, self.act, self.count, self.out = ini, act, count, out
        stamp = int(time.time()) % 100_000
        self.expected = {f"bench-wlan-{i:02d}": 30 + i for i in range(count)}
        self.feeds = Feeds({f"/{name}.csv": city_csv(hotspots(n, start=stamp * 100 + 1))
                            for name, n in self.expected.items()})
        self.consumers: list[subprocess.Popen] = []
        self.jobs: dict[str, str] = {}
        self.started = 0.0

    def start(self) -> None:
        self.out.mkdir(parents=True, exist_ok=True)
        for stage, name in (("gather", "gather"), ("fetch", "fetch-1"), ("fetch", "fetch-2")):
            log = open(self.out / f"{name}.log", "w")  # noqa: SIM115 - the process keeps it
            self.consumers.append(subprocess.Popen(
                [str(VENV_BIN / "ckan"), "-c", str(self.ini), "gelsenkirchen",
                 "harvest-consumer", stage], stdout=log, stderr=subprocess.STDOUT, cwd=ROOT))
        org = self._organization()
        sources = [self._source(name, org) for name in self.expected]
        self.started = time.monotonic()
        for source in sources:
            job = self.act("harvest_job_create", source_id=source["id"], run=True)
            self.jobs[source["name"]] = job["id"]

    def _organization(self) -> str:
        try:
            return str(self.act("organization_show", id="bench-harvest")["id"])
        except RuntimeError:
            return str(self.act("organization_create", name="bench-harvest",
                                title="Bench: Harvest unter Last")["id"])

    def _source(self, name: str, org: str) -> dict[str, Any]:
        data = {"name": name, "title": f"Bench {name}", "owner_org": org,
                "url": f"{self.feeds.base}/{name}.csv", "source_type": "gelsenkirchen_wifi",
                "frequency": "MANUAL", "config": "{}"}
        try:
            existing = self.act("harvest_source_show", id=name)
            return self.act("harvest_source_update", id=existing["id"], **data)
        except RuntimeError:
            return self.act("harvest_source_create", **data)

    def finish(self) -> dict[str, Any]:
        """Wait for every job (bounded), stop the consumers, verify."""
        try:
            waited = self._wait_for_jobs()
        finally:
            for consumer in self.consumers:
                stop_process(consumer)
            self.feeds.stop()
        statuses = {name: self.act("harvest_job_show", id=job)["status"]
                    for name, job in self.jobs.items()}
        return {"sources": self.count, "seconds": round(waited, 1),
                "unfinished": sorted(n for n, s in statuses.items() if s != "Finished"),
                "problems": self._verify()}

    def _wait_for_jobs(self) -> float:
        deadline = time.monotonic() + JOB_TIMEOUT
        while time.monotonic() < deadline:
            # marks the jobs whose objects are all done Finished, as the
            # scheduled `ckan harvester run` does
            self.act("harvest_jobs_run")
            if all(self.act("harvest_job_show", id=job)["status"] == "Finished"
                   for job in self.jobs.values()):
                break
            time.sleep(POLL_SECONDS)
        return time.monotonic() - self.started

    def _verify(self) -> list[str]:
        """What disagrees: verify's findings for these sources (one ``verify
        --json`` over every source), and the hotspot count of each published
        dataset against its feed."""
        result = subprocess.run(
            [str(VENV_BIN / "ckan"), "-c", str(self.ini), "gelsenkirchen", "verify", "--json"],
            capture_output=True, text=True, cwd=ROOT, timeout=600)
        try:
            every = json.loads(result.stdout)["datasets"]
        except (ValueError, KeyError):
            return [f"verify failed: {result.stderr[-300:]}"]
        problems = []
        for name, rows in self.expected.items():
            findings = [f for f in every if f["source"] == name]
            if not findings or not all(f["ok"] and not f["skipped"] for f in findings):
                problems.append(f"{name}: {findings}")
                continue
            count = self.act("package_show", id=findings[0]["dataset"]).get("hotspot_count")
            if count != rows:
                problems.append(f"{name}: {count} hotspots published, the feed has {rows}")
        return problems
