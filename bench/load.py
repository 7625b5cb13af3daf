"""make bench-load: 50 concurrent clients for 60 s against the production
servers (gunicorn for CKAN, pgsolr under gunicorn) on 127.0.0.1, first with
the portal theme, then with CKAN's stock templates on the same data.

The bench portal is bench/portal.py's (set up by bench/portal.sh), plus two
harvest-sized datasets; the request mix is bench/locustfile.py. Each run
warms the workers up first (templates compiled, caches filled), then runs
locust headless for --seconds with --users clients, which stops by itself.
Prints requests/s, p50/p95/p99 and errors per page, the theme/stock ratio of
the throughput, the machine's load average, and whether the aims are met
(0 errors; p95 < 1 s for pages, < 300 ms for API calls; throughput at least
that of stock CKAN's templates). Exit status 1 when an aim is missed.
With --nginx each server is then measured again behind nginx with
config/nginx-ckan.conf, the documented front proxy that caches what CKAN
marks public (anonymous pages and API answers, max-age 60 s). With
--harvest N, N WiFi sources are harvested at once by two fetch consumers
while the theme is under load, and checked afterwards (bench/harvest_load.py).

    python bench/load.py --ini .run/bench/bench.ini [--users 50 --seconds 60] [--nginx]
                         [--harvest 20]
"""
from __future__ import annotations

import argparse
import csv
import os
import pathlib
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from bench.harvest_load import HarvestUnderLoad  # noqa: E402
from bench.load_mix import API_PAGES, WEIGHTS  # noqa: E402
from bench.portal import (  # noqa: E402
    ROOT,
    VENV_BIN,
    PgSolr,
    Server,
    _actions,
    free_port,
    seed,
    seed_large,
    stop_process,
    wait_for,
)

PAGE_AIM_MS = 1000
API_AIM_MS = 300


class Nginx:
    """nginx with config/nginx-ckan.conf (the documented example) in front of
    ``upstream``, on a free port, in the foreground, its files in ``work``."""

    def __init__(self, upstream: str, work: pathlib.Path) -> None:
        binary = shutil.which("nginx") or "/usr/sbin/nginx"
        if os.path.exists(work):
            shutil.rmtree(work)
        (work / "cache").mkdir(parents=True)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        site = (ROOT / "config" / "nginx-ckan.conf").read_text(encoding="utf-8")
        for old, new in (("/var/cache/nginx/ckan", str(work / "cache")),
                         ("server 127.0.0.1:5000;", f"server {upstream.split('//')[1]};"),
                         ("listen 80;", f"listen 127.0.0.1:{self.port};")):
            assert old in site, old
            site = site.replace(old, new)
        (work / "ckan.conf").write_text(site, encoding="utf-8")
        temp = " ".join(f"{kind}_temp_path {work / kind};"
                        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
        user = "user root root;" if os.geteuid() == 0 else ""
        (work / "nginx.conf").write_text(
            f"{user}\ndaemon off;\nworker_processes 1;\npid {work / 'nginx.pid'};\n"
            f"error_log {work / 'error.log'} warn;\nevents {{ worker_connections 1024; }}\n"
            f"http {{\n  access_log off;\n  {temp}\n  include {work / 'ckan.conf'};\n}}\n",
            encoding="utf-8")
        self.log = work / "nginx.log"
        with open(self.log, "w") as out:
            self.process = subprocess.Popen([binary, "-p", str(work), "-c", str(work / "nginx.conf")],
                                            stdout=out, stderr=subprocess.STDOUT)
        wait_for(f"{self.url}/api/3/action/status_show", self.process, self.log, "nginx")

    def stop(self) -> None:
        stop_process(self.process)


def warm_up(base: str, env: dict[str, str], rounds: int = 8, clients: int = 8) -> None:
    """Every page a few times from several clients, so each worker has
    compiled its templates and filled its caches."""
    paths = ["/", "/dataset/?q=Daten&tags=Bildung", env["BENCH_DATASET_PAGE"],
             env["BENCH_WIFI_PAGE"], env["BENCH_BROADBAND_PAGE"], "/catalog.ttl",
             "/api/3/action/package_search?q=WLAN",
             f"/api/3/action/datastore_search?resource_id={env['BENCH_DATASTORE_RESOURCE']}"]
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(lambda p: requests.get(base + p, timeout=60), paths * rounds))


def run_locust(base: str, env: dict[str, str], users: int, seconds: int,
               out: pathlib.Path) -> dict[str, dict[str, float]]:
    prefix = out / "locust"
    cmd = [str(VENV_BIN / "locust"), "-f", str(pathlib.Path(__file__).with_name("locustfile.py")),
           "--headless", "--users", str(users), "--spawn-rate", str(users),
           "--run-time", f"{seconds}s", "--stop-timeout", "30", "--host", base,
           "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING"]
    with open(out / "locust.log", "w") as log:
        # bounded: locust stops after --run-time (+ --stop-timeout); this is the backstop
        subprocess.run(cmd, env={**os.environ, **env}, stdout=log, stderr=subprocess.STDOUT,
                       timeout=seconds + 120, check=False)
    rows: dict[str, dict[str, float]] = {}
    with open(f"{prefix}_stats.csv", newline="") as f:
        for row in csv.DictReader(f):
            name = "total" if row["Name"] == "Aggregated" else row["Name"]
            rows[name] = {"requests": int(row["Request Count"]),
                          "errors": int(row["Failure Count"]),
                          "rps": float(row["Requests/s"]),
                          "p50": float(row["50%"]), "p95": float(row["95%"]),
                          "p99": float(row["99%"])}
    return rows


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ini", required=True)
    parser.add_argument("--users", type=int, default=50)
    parser.add_argument("--seconds", type=int, default=60)
    parser.add_argument("--workers", type=int, default=None,
                        help="gunicorn workers (default: gunicorn_conf.py's)")
    parser.add_argument("--threads", type=int, default=None,
                        help="gunicorn threads per worker (default: gunicorn_conf.py's)")
    parser.add_argument("--only", choices=["theme", "stock"], default=None)
    parser.add_argument("--nginx", action="store_true",
                        help="also run through nginx with config/nginx-ckan.conf (caching "
                             "anonymous pages); needs nginx (Debian: apt-get install nginx-light)")
    parser.add_argument("--harvest", type=int, default=0, metavar="N",
                        help="harvest N WiFi sources at once (two fetch consumers) while the "
                             "theme is under load, then verify them")
    opts = parser.parse_args()
    if opts.nginx and not (shutil.which("nginx") or os.path.exists("/usr/sbin/nginx")):
        sys.exit("--nginx: nginx is missing. Install it with: apt-get install nginx-light")
    ini = pathlib.Path(opts.ini)
    out_dir = ini.parent / "load"
    load_before = os.getloadavg()
    pgsolr = PgSolr(ini.parent)
    results: dict[str, dict[str, dict[str, float]]] = {}
    harvested: dict[str, object] = {}
    try:
        for theme in (True, False):
            label = "theme" if theme else "stock"
            if opts.only and opts.only != label:
                continue
            server = Server(ini, theme, production=True, solr_url=f"{pgsolr.url}/ckan_bench",
                            workers=opts.workers, threads=opts.threads)
            try:
                seed(ini, server, 60)
                large = seed_large(ini, server)
                env = {"BENCH_DATASTORE_RESOURCE": large["resource"],
                       "BENCH_WIFI_PAGE": large["wifi"], "BENCH_BROADBAND_PAGE": large["broadband"],
                       "BENCH_DATASET_PAGE": "/dataset/gk-dataset-0"}
                warm_up(server.url, env)
                print(f"==> {label}: {opts.users} clients for {opts.seconds} s "
                      f"(load average {os.getloadavg()[0]:.2f})", flush=True)
                (out_dir / label).mkdir(parents=True, exist_ok=True)
                harvest = None
                if opts.harvest and theme:
                    harvest = HarvestUnderLoad(server.ini, _actions(ini, server), opts.harvest,
                                               out_dir / "harvest")
                    harvest.start()
                results[label] = run_locust(server.url, env, opts.users, opts.seconds,
                                            out_dir / label)
                if harvest:
                    harvested = harvest.finish()
                if opts.nginx:
                    proxy = Nginx(server.url, out_dir / f"nginx-{label}")
                    try:
                        print(f"==> {label} behind nginx: {opts.users} clients for "
                              f"{opts.seconds} s (load average {os.getloadavg()[0]:.2f})",
                              flush=True)
                        results[f"{label}+nginx"] = run_locust(
                            proxy.url, env, opts.users, opts.seconds, out_dir / f"nginx-{label}")
                    finally:
                        proxy.stop()
            finally:
                server.stop()
    finally:
        pgsolr.stop()
    load_after = os.getloadavg()
    return report(results, opts, load_before, load_after, harvested)


def report(results: dict[str, dict[str, dict[str, float]]], opts: argparse.Namespace,
           load_before: tuple[float, ...], load_after: tuple[float, ...],
           harvested: dict[str, object]) -> int:
    print(f"\n{opts.users} clients, {opts.seconds} s each, {os.cpu_count()} cores, gunicorn "
          f"(ckanext/gelsenkirchen/gunicorn_conf.py) + pgsolr --server gunicorn; load average "
          f"before {load_before[0]:.2f}, after {load_after[2]:.2f} (15 min)\n")
    print("| page | server | requests | req/s | p50 | p95 | p99 | errors | aim p95 |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | --- |")
    missed: list[str] = []
    for name in [*WEIGHTS, "total"]:
        for label, rows in sorted(results.items()):
            r = rows.get(name)
            if not r:
                continue
            aim = None if name == "total" else API_AIM_MS if name in API_PAGES else PAGE_AIM_MS
            ok = "" if aim is None else ("met" if r["p95"] < aim else "MISSED")
            print(f"| {name} | {label} | {r['requests']} | {r['rps']:.1f} | {r['p50']:.0f} ms | "
                  f"{r['p95']:.0f} ms | {r['p99']:.0f} ms | {r['errors']} | "
                  f"{f'< {aim} ms {ok}' if aim else ''} |")
            if label.startswith("theme") and ok == "MISSED":
                missed.append(f"{name} ({label}): p95 {r['p95']:.0f} ms (aim < {aim} ms)")
            if r["errors"] and name != "total":
                missed.append(f"{name} ({label}): {r['errors']} errors")
    for suffix in ("", "+nginx"):
        theme, stock = results.get("theme" + suffix), results.get("stock" + suffix)
        if theme and stock:
            ratio = theme["total"]["rps"] / max(stock["total"]["rps"], 1e-9)
            print(f"\nthroughput theme/stock{suffix}: {ratio:.2f} (aim >= 1.00)")
            if ratio < 1:
                missed.append(f"throughput{suffix} {ratio:.2f}x of stock CKAN (aim >= 1)")
    if harvested:
        print(f"\nharvest under load: {harvested['sources']} sources, all jobs ended after "
              f"{harvested['seconds']} s; unfinished jobs: {harvested['unfinished'] or 'none'}; "
              f"problems: {harvested['problems'] or 'none'}")
        if harvested["unfinished"] or harvested["problems"]:
            missed.append("harvest under load: see above")
    print("\naims: " + ("all met" if not missed else "missed: " + "; ".join(missed)))
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
