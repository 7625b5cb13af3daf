"""Benchmark of the WiFi hotspot harvester (``make bench-harvest``).

    python -m ckanext.gelsenkirchen.harvesters.bench [--ini test.ini] [--rows 10000]

Generates a city CSV of ``--rows`` hotspots (``;``, decimal comma,
Windows-1252, EPSG:25832) and a GeoJSON FeatureCollection of as many
features, serves both over real HTTP on 127.0.0.1 and runs, for each, a
first harvest and an unchanged re-harvest through ckanext-harvest (gather ->
fetch -> import) against the databases of ``--ini`` (the test databases by
default; the run takes the test-session lock, so it waits for a running test
session). Prints wall times, rows/s, peak memory (RSS high-water mark of this
process, CKAN included) and where the time goes.
"""
from __future__ import annotations

import argparse
import fcntl
import functools
import http.server
import json
import os
import random
import resource
import sys
import tempfile
import threading
import time
import uuid
from typing import Any

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(
    __file__)))))
LOCK_PATH = os.path.join(tempfile.gettempdir(), "ckanext-gelsenkirchen-tests.lock")
AREAS = [("Altstadt", (7.07, 51.50, 7.11, 51.52)), ("Buer", (7.03, 51.58, 7.11, 51.61)),
         ("Horst", (6.98, 51.54, 7.03, 51.57)), ("Erle", (7.07, 51.56, 7.11, 51.58))]


def make_csv(rows: int, seed: int = 1) -> bytes:
    from pyproj import Transformer

    rnd = random.Random(seed)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    lines = ["ID;Name;Art;Traeger;PLZ;Ort;Strasse;Bezirk;Stadtteil;X;Y;SSID;Anzahl_AP;"
             "Anbindung;Status;Oeffnungszeiten"]
    for i in range(rows):
        area, (w, s, e, n) = AREAS[i % len(AREAS)]
        x, y = to_utm.transform(rnd.uniform(w, e), rnd.uniform(s, n))
        lines.append(";".join([
            f"GE-{i:05d}", f"Hotspot Straße {i}", rnd.choice(["Außenbereich", "Innenbereich"]),
            "Stadt Gelsenkirchen", "45879", "Gelsenkirchen", f"Überweg {i % 300}", "",
            area if i % 3 else "", f"{x:.2f}".replace(".", ","), f"{y:.2f}".replace(".", ","),
            "Free WiFi Gelsenkirchen", str(rnd.randint(1, 8)),
            rnd.choice(["Glasfaser", "VDSL", "Richtfunk"]), rnd.choice(["in Betrieb", "geplant"]),
            "durchgehend"]))
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def make_geojson(rows: int, seed: int = 2) -> bytes:
    rnd = random.Random(seed)
    features = []
    for i in range(rows):
        _, (w, s, e, n) = AREAS[i % len(AREAS)]
        features.append({"type": "Feature", "id": f"f{i:05d}", "geometry": {
            "type": "Point", "coordinates": [round(rnd.uniform(w, e), 6),
                                             round(rnd.uniform(s, n), 6)]},
            "properties": {"name": f"Hotspot {i}", "betreiber": "Stadtwerke", "ssid": "GE-Free",
                           "access_points": rnd.randint(1, 4), "anbindung": "Glasfaser",
                           "status": "online", "lage": "außen"}})
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


class _Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


def _peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_harvests(ini: str, urls: dict[str, str]) -> dict[str, list[dict[str, Any]]]:
    import ckan.plugins.toolkit as tk
    from ckan.cli import db as ckan_db
    from ckan.cli import load_config
    from ckan.config.middleware import make_app
    from ckan.tests import factories
    from ckanext.harvest import queue
    from ckanext.harvest.model import HarvestJob, HarvestObject, HarvestSource
    from ckanext.harvest.tests import factories as harvest_factories
    from ckanext.harvest.tests.lib import run_harvest_job

    app = make_app(load_config(ini))
    flask_app = getattr(app, "apps", {}).get("flask_app", app)
    flask_app = getattr(flask_app, "_wsgi_app", flask_app)
    tk.config["ckanext.gelsenkirchen.harvest.allow_private_addresses"] = "true"
    out: dict[str, list[dict[str, Any]]] = {}
    with flask_app.test_request_context():
        for plugin in tk.config["ckan.plugins"]:  # as the test fixtures do after a reset
            if ckan_db.current_revision(plugin) is not None:
                ckan_db._run_migrations(plugin)
        sysadmin = factories.Sysadmin()
        org = factories.Organization()
        harvester = queue.get_harvester("gelsenkirchen_wifi")
        for kind, url in urls.items():
            source = tk.get_action("harvest_source_create")({"user": sysadmin["name"]}, {
                "name": f"bench-wifi-{kind}-{uuid.uuid4().hex[:8]}", "title": f"Bench WLAN {kind}",
                "url": url, "source_type": "gelsenkirchen_wifi", "owner_org": org["id"],
                "config": json.dumps({"format": kind})})
            runs = []
            for label in ("first harvest", "unchanged re-harvest"):
                job = harvest_factories.HarvestJobObj(source=HarvestSource.get(source["id"]),
                                                      run=False)
                start = time.perf_counter()
                results = run_harvest_job(job, harvester)
                elapsed = time.perf_counter() - start
                job = HarvestJob.get(job.id)
                obj = HarvestObject.get(next(iter(results.values()))["obj_id"]) if results else None
                report: dict[str, Any] = {}
                if obj is not None:
                    extra = next((e.value for e in obj.extras if e.key == "report"), None)
                    report = json.loads(extra) if extra else {}
                runs.append({"run": label, "seconds": elapsed,
                             "statuses": [r["report_status"] for r in results.values()],
                             "published": report.get("published"),
                             "timings": report.get("timings"), "peak_mb": _peak_mb()})
            out[kind] = runs
            # leave the test databases as small as they were
            tk.get_action("harvest_source_clear")({"user": sysadmin["name"]},
                                                  {"id": source["id"]})
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ini", default=os.path.join(ROOT, "test.ini"))
    parser.add_argument("--rows", type=int, default=10000)
    opts = parser.parse_args(argv)
    start = time.perf_counter()
    files = {"csv": ("hotspots.csv", make_csv(opts.rows)),
             "geojson": ("hotspots.geojson", make_geojson(opts.rows))}
    print(f"generated {opts.rows} hotspots as CSV ({len(files['csv'][1]) / 1e6:.1f} MB) and "
          f"GeoJSON ({len(files['geojson'][1]) / 1e6:.1f} MB) in "
          f"{time.perf_counter() - start:.1f} s; {os.cpu_count()} CPU(s)")
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
            results = run_harvests(opts.ini, {kind: f"http://127.0.0.1:{port}/{name}"
                                              for kind, (name, _) in files.items()})
        finally:
            server.shutdown()
            lock.close()
    for kind, runs in results.items():
        print(f"\n{kind}: {opts.rows} hotspots")
        for run in runs:
            rate = opts.rows / run["seconds"] if run["seconds"] else 0
            print(f"  {run['run']:22s} {run['seconds']:6.2f} s  {rate:8.0f} rows/s  "
                  f"status {','.join(run['statuses'])}  published {run['published']}  "
                  f"peak RSS {run['peak_mb']:.0f} MB")
            if run["timings"]:
                print("    where the time goes: " + ", ".join(
                    f"{k.removesuffix('_s')} {v:.2f} s" for k, v in run["timings"].items()))
    print(f"\npeak memory (RSS high-water mark of this process, incl. CKAN): {_peak_mb():.0f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
