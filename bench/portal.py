"""The bench portal of ``make bench-pages`` and ``make bench-load``: one
home for its set-up.

Its own databases (ckan_bench, datastore_bench) and pgsolr core ckan_bench,
configured as test.ini, seeded once with the browser tests' sample content
(tests/browser/sample_data.py) plus plain datasets; CKAN served either by
the development server (``ckan run --threaded``) or by the production
servers (gunicorn for CKAN, ``pgsolr serve --server gunicorn``), with the
portal theme or with CKAN's stock templates
(``ckanext.gelsenkirchen.theme.enabled = false``).

    python bench/portal.py --write-ini .run/bench/bench.ini   (bench/portal.sh)
"""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import signal
import socket
import subprocess
import sys
import time
from typing import Any

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV_BIN = pathlib.Path(sys.executable).parent
sys.path.insert(0, str(ROOT))
PGSOLR_DSN = "postgresql://ckan_default@127.0.0.1/gelsenkirchen_pgsolr"
# every wait of the bench is bounded
START_TIMEOUT = 120
STOP_TIMEOUT = 40


def set_options(text: str, overrides: dict[str, str]) -> str:
    for key, value in overrides.items():
        pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
        if pattern.search(text):
            text = pattern.sub(f"{key} = {value}".replace("\\", "\\\\"), text)
        else:
            text = text.replace("[app:main]\n", f"[app:main]\n{key} = {value}\n", 1)
    return text


def write_ini(path: pathlib.Path) -> None:
    text = (ROOT / "test.ini").read_text(encoding="utf-8")
    overrides = {
        "sqlalchemy.url": "postgresql://ckan_default:pass@127.0.0.1/ckan_bench",
        "ckan.datastore.write_url": "postgresql://ckan_default:pass@127.0.0.1/datastore_bench",
        "ckan.datastore.read_url": "postgresql://datastore_default:pass@127.0.0.1/datastore_bench",
        # the port of scripts/lib.sh's pgsolr (bench-pages); bench-load starts its own
        "solr_url": f"http://127.0.0.1:{os.environ.get('PGSOLR_PORT', '8983')}/solr/ckan_bench",
        "ckan.redis.url": "redis://127.0.0.1:6379/2",
        "ckan.site_id": "gelsenkirchen-bench",
        "ckan.storage_path": str(path.parent / "storage"),
        "testing": "false",
    }
    # the schema and preset settings of test.ini are package-relative
    text = set_options(text, overrides)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text.replace("%(here)s", str(ROOT)), encoding="utf-8")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for(url: str, process: subprocess.Popen, log: pathlib.Path, what: str) -> None:
    deadline = time.monotonic() + START_TIMEOUT
    while True:
        try:
            requests.get(url, timeout=2).raise_for_status()
            return
        except Exception:
            if process.poll() is not None or time.monotonic() > deadline:
                stop_process(process)
                tail = log.read_text(errors="replace").splitlines()[-20:]
                sys.exit(f"{what} did not answer at {url} within {START_TIMEOUT} s "
                         f"(log: {log})\n" + "\n".join(tail))
            time.sleep(0.3)


def stop_process(process: subprocess.Popen) -> None:
    """SIGTERM (gunicorn: graceful), SIGKILL after STOP_TIMEOUT seconds."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=STOP_TIMEOUT)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


class PgSolr:
    """pgsolr's production server on a free port (bench-load)."""

    def __init__(self, log_dir: pathlib.Path, threads: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}/solr"
        self.log = log_dir / "pgsolr.log"
        args = [str(VENV_BIN / "pgsolr"), "serve", "--server", "gunicorn", "--dsn", PGSOLR_DSN,
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning"]
        if threads:
            args += ["--threads", str(threads), "--pool-size", str(threads)]
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT)
        wait_for(f"{self.url}/ckan_bench/admin/ping", self.process, self.log, "pgsolr")

    def stop(self) -> None:
        stop_process(self.process)


class Server:
    """CKAN on the bench portal's data, with the theme or stock templates;
    ``production``: gunicorn with ckanext/gelsenkirchen/gunicorn_conf.py."""

    def __init__(self, ini: pathlib.Path, theme: bool, production: bool = False,
                 solr_url: str | None = None, workers: int | None = None,
                 threads: int | None = None) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ini = ini.with_name(f"bench-{'theme' if theme else 'stock'}.ini")
        options = {"ckanext.gelsenkirchen.theme.enabled": str(theme).lower(),
                   "ckan.site_url": self.url}
        if solr_url:
            options["solr_url"] = solr_url
        self.ini.write_text(set_options(ini.read_text(encoding="utf-8"), options),
                            encoding="utf-8")
        self.log = self.ini.with_suffix(".log")
        env = dict(os.environ)
        if production:
            env["CKAN_INI"] = str(self.ini)
            if workers:
                env["GUNICORN_WORKERS"] = str(workers)
            if threads:
                env["GUNICORN_THREADS"] = str(threads)
            args = [str(VENV_BIN / "gunicorn"), "-c", "python:ckanext.gelsenkirchen.gunicorn_conf",
                    "--bind", f"127.0.0.1:{self.port}", "--access-logfile", "/dev/null",
                    "ckanext.gelsenkirchen.wsgi:application"]
        else:
            args = [str(VENV_BIN / "ckan"), "-c", str(self.ini), "run", "--host", "127.0.0.1",
                    "--port", str(self.port), "--disable-reloader", "--threaded"]
        with open(self.log, "w") as out:
            self.process = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT, cwd=ROOT,
                                            env=env)
        wait_for(f"{self.url}/api/3/action/status_show", self.process, self.log,
                  "the bench server")

    def stop(self) -> None:
        stop_process(self.process)


def ckan_cli(ini: pathlib.Path, *args: str) -> str:
    return subprocess.run([str(VENV_BIN / "ckan"), "-c", str(ini), *args], check=True,
                          capture_output=True, text=True, cwd=ROOT, timeout=300).stdout


def _actions(ini: pathlib.Path, server: Server):
    if "name=bench-admin" not in ckan_cli(ini, "user", "list"):
        ckan_cli(ini, "user", "add", "bench-admin", "email=bench@example.org",
                 "password=bench-admin-password-1")
        ckan_cli(ini, "sysadmin", "add", "bench-admin")
    token = ckan_cli(ini, "user", "token", "add", "bench-admin", "bench").strip().splitlines()[-1]
    session = requests.Session()
    session.headers["Authorization"] = token.strip()

    def act(action_name: str, /, files: dict | None = None, **data: Any) -> dict:
        if files:
            resp = session.post(f"{server.url}/api/3/action/{action_name}", data=data,
                                files=files, timeout=120)
        else:
            resp = session.post(f"{server.url}/api/3/action/{action_name}", json=data, timeout=120)
        body = resp.json()
        if not body.get("success"):
            raise RuntimeError(f"{action_name}: {body.get('error')}")
        return body["result"]
    return act


def _exists(server: Server, name: str) -> bool:
    found = requests.get(f"{server.url}/api/3/action/package_show", params={"id": name},
                         timeout=30).json()
    return bool(found.get("success"))


def seed(ini: pathlib.Path, server: Server, extra: int) -> None:
    """Sample content, once: skipped when the bench portal already has it."""
    if _exists(server, "gk-breitband"):
        return
    from tests.browser.sample_data import seed as seed_sample
    print(f"==> seeding the bench portal ({extra} extra datasets)", flush=True)
    seed_sample(_actions(ini, server), extra_datasets=extra)


LARGE_WIFI = "gk-wifi-bench"
LARGE_BROADBAND = "gk-breitband-bench"
STADTTEILE = ["Altstadt", "Bismarck", "Bulmke-Hüllen", "Feldmark", "Heßler", "Schalke",
              "Schalke-Nord", "Neustadt", "Ückendorf", "Rotthausen", "Beckhausen", "Buer",
              "Erle", "Hassel", "Resse", "Resser Mark", "Scholven", "Horst", "Beckhausen-Nord",
              "Sutum", "Hüllen", "Heßler-Nord", "Bulmke", "Erle-Süd", "Buer-Mitte", "Middelich",
              "Löchterheide", "Schaffrath", "Horst-Süd", "Hassel-Nord", "Scholven-Ost",
              "Resse-West", "Feldmark-Ost", "Ückendorf-Süd", "Rotthausen-Nord", "Altstadt-Ost",
              "Neustadt-West", "Schalke-Ost", "Buer-Ost", "Erle-Nord"]


def seed_large(ini: pathlib.Path, server: Server) -> dict[str, str]:
    """Harvest-sized datasets for make bench-load, once: a wifi-hotspots
    dataset of 500 hotspots and a broadband-coverage dataset of 40 areas
    over 6 reference dates (the sample content has 4 and 7 rows). Returns
    the pages and the hotspot table's resource id."""
    import random

    from tests.browser.sample_data import BROADBAND_FIELDS, HOTSPOT_FIELDS
    if not _exists(server, LARGE_WIFI):
        act = _actions(ini, server)
        print("==> seeding harvest-sized datasets (500 hotspots, 240 coverage rows)", flush=True)
        rnd = random.Random(13)
        org = act("organization_show", id="stadt-gelsenkirchen")["id"]
        common = {"owner_org": org, "contact_name": "Referat Digitalisierung",
                  "contact_email": "opendata@gelsenkirchen.example",
                  "license_id": "dl-zero-de/2.0", "theme": ["TECH"]}
        hotspots = [{"id": f"b-{i}", "name": f"Hotspot {i} {rnd.choice(STADTTEILE)}",
                     "address": f"Straße {rnd.randint(1, 300)} Nr. {rnd.randint(1, 99)}",
                     "postcode": str(rnd.randint(45879, 45899)),
                     "stadtteil": rnd.choice(STADTTEILE), "stadtbezirk": "Mitte",
                     "latitude": 51.5 + rnd.uniform(-0.05, 0.08),
                     "longitude": 7.05 + rnd.uniform(-0.06, 0.06),
                     "operator": rnd.choice(["Stadt Gelsenkirchen", "Freifunk Gelsenkirchen"]),
                     "ssid": rnd.choice(["GE-WLAN", "Freifunk"]),
                     "access_points": rnd.randint(1, 8),
                     "status": rnd.choice(["aktiv", "aktiv", "aktiv", "gestört"])}
                    for i in range(500)]
        wifi = act("package_create", type="wifi-hotspots", name=LARGE_WIFI,
                   title="WLAN-Hotspots (Benchmark, 500)", notes="Erfundene Benchmark-Daten.",
                   hotspot_count=len(hotspots), **common)
        act("datastore_create", resource={"package_id": wifi["id"], "name": "Hotspots",
                                          "format": "CSV"},
            fields=HOTSPOT_FIELDS, records=hotspots, primary_key=["id"])
        dates = ["2023-06-30", "2023-12-31", "2024-06-30", "2024-12-31", "2025-06-30",
                 "2025-12-31"]
        rows = [{"area_name": area, "area_level": "stadtteil", "reference_date": date,
                 "down_fn_hh_alle_50": min(100.0, 80 + k * 2 + rnd.uniform(0, 5)),
                 "down_fn_hh_alle_1000": min(100.0, 20 + k * 8 + rnd.uniform(0, 10)),
                 "down_fn_hh_ftthb_1000": min(100.0, 10 + k * 6 + rnd.uniform(0, 8))}
                for k, date in enumerate(dates) for area in STADTTEILE]
        broadband = act("package_create", type="broadband-coverage", name=LARGE_BROADBAND,
                        title="Breitbandversorgung (Benchmark, 40 Stadtteile)",
                        notes="Erfundene Benchmark-Daten.", reference_date=dates[-1],
                        households_50mbit_share=95.0, households_1gbit_share=60.0, **common)
        act("datastore_create", resource={"package_id": broadband["id"], "name": "Versorgung",
                                          "format": "CSV"},
            fields=BROADBAND_FIELDS, records=rows)
    wifi = requests.get(f"{server.url}/api/3/action/package_show", params={"id": LARGE_WIFI},
                        timeout=30).json()["result"]
    resource = next(r["id"] for r in wifi["resources"] if r.get("datastore_active"))
    return {"wifi": f"/wifi-hotspots/{LARGE_WIFI}",
            "broadband": f"/broadband-coverage/{LARGE_BROADBAND}", "resource": resource}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--write-ini", required=True)
    write_ini(pathlib.Path(parser.parse_args().write_ini))
    return 0


if __name__ == "__main__":
    sys.exit(main())
