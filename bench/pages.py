"""make bench-pages: page response times with the portal theme and with stock CKAN.

Serves one bench portal (own databases ckan_bench/datastore_bench and pgsolr
core ckan_bench, configured as test.ini) seeded once with the sample content
of the browser tests plus plain datasets, then measures - one server at a
time, on the same data - the home page, /dataset/ with facets and a page of
each dataset type: N requests per page from C concurrent clients, after a
warm-up; first with the gelsenkirchen theme, then with
ckanext.gelsenkirchen.theme.enabled = false (CKAN's stock templates).
Prints median and p95 per page and the theme/stock ratio of the medians.

    bench/portal.sh (python bench/portal.py --write-ini .run/bench/bench.ini)
    python bench/pages.py --ini .run/bench/bench.ini [--requests 200 --clients 4]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parent.parent))
from bench.portal import Server, seed  # noqa: E402

PAGES = {
    "home": "/",
    "search with facets": "/dataset/?tags=Bildung&vocab_gk_theme=http%3A%2F%2Fpublications."
                          "europa.eu%2Fresource%2Fauthority%2Fdata-theme%2FEDUC",
    "dataset": "/dataset/gk-dataset-0",
    "wifi-hotspots": "/wifi-hotspots/gk-wifi-hotspots",
    "broadband-coverage": "/broadband-coverage/gk-breitband",
}


def measure(url: str, requests_per_page: int, clients: int) -> dict:
    def one(_i: int) -> tuple[float, bool]:
        session = sessions[_i % clients]
        start = time.perf_counter()
        try:
            resp = session.get(url, timeout=60)
            ok = resp.status_code == 200
        except requests.RequestException:
            ok = False
        return time.perf_counter() - start, ok

    sessions = [requests.Session() for _ in range(clients)]
    for s in sessions:  # warm-up: templates compiled, caches filled
        s.get(url, timeout=60)
    with ThreadPoolExecutor(clients) as pool:
        results = list(pool.map(one, range(requests_per_page)))
    times = sorted(t for t, _ok in results)
    return {"median": statistics.median(times) * 1000,
            "p95": times[int(0.95 * (len(times) - 1))] * 1000,
            "errors": sum(1 for _t, ok in results if not ok)}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--ini", required=True)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--extra-datasets", type=int, default=60)
    opts = parser.parse_args()
    ini = pathlib.Path(opts.ini)
    results: dict[str, dict[str, dict]] = {}
    for theme in (True, False):
        label = "theme" if theme else "stock"
        server = Server(ini, theme)
        try:
            if theme:
                seed(ini, server, opts.extra_datasets)
            for name, path in PAGES.items():
                results.setdefault(name, {})[label] = measure(server.url + path, opts.requests,
                                                              opts.clients)
                r = results[name][label]
                print(f"    {label:5} {name:20} median {r['median']:7.1f} ms  p95 {r['p95']:7.1f} ms"
                      f"  errors {r['errors']}", flush=True)
        finally:
            server.stop()
    print(f"\nPage response times, {opts.requests} requests per page, {opts.clients} concurrent "
          f"clients, {os.cpu_count()} cores (ckan run --threaded):\n")
    print("| page | theme median | theme p95 | stock median | stock p95 | ratio (medians) | errors |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    errors = 0
    for name, r in results.items():
        t, s = r["theme"], r["stock"]
        errors += t["errors"] + s["errors"]
        print(f"| {name} | {t['median']:.1f} ms | {t['p95']:.1f} ms | {s['median']:.1f} ms | "
              f"{s['p95']:.1f} ms | {t['median'] / s['median']:.2f} | {t['errors'] + s['errors']} |")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
