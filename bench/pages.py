"""make bench-pages: page response times with the portal theme and with stock CKAN.

Serves one bench portal (own databases ckan_bench/datastore_bench and pgsolr
core ckan_bench, configured as test.ini) seeded once with the sample content
of the browser tests plus plain datasets, then measures - one server at a
time, on the same data - the home page, /dataset/ with facets and a page of
each dataset type: N requests per page from C concurrent clients, after a
warm-up; first with the gelsenkirchen theme, then with
ckanext.gelsenkirchen.theme.enabled = false (CKAN's stock templates).
Prints median and p95 per page and the theme/stock ratio of the medians.

    python bench/pages.py --write-ini .run/bench/bench.ini
    python bench/pages.py --ini .run/bench/bench.ini [--requests 200 --clients 4]
"""
from __future__ import annotations

import argparse
import os
import pathlib
import re
import socket
import statistics
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
VENV_BIN = pathlib.Path(sys.executable).parent
sys.path.insert(0, str(ROOT))


def set_options(text: str, overrides: dict[str, str]) -> str:
    for key, value in overrides.items():
        pattern = re.compile(rf"^{re.escape(key)}\s*=.*$", re.M)
        if pattern.search(text):
            text = pattern.sub(lambda _m, k=key, v=value: f"{k} = {v}", text)
        else:
            text = text.replace("[app:main]\n", f"[app:main]\n{key} = {value}\n", 1)
    return text


def write_ini(path: pathlib.Path) -> None:
    text = (ROOT / "test.ini").read_text(encoding="utf-8")
    overrides = {
        "sqlalchemy.url": "postgresql://ckan_default:pass@127.0.0.1/ckan_bench",
        "ckan.datastore.write_url": "postgresql://ckan_default:pass@127.0.0.1/datastore_bench",
        "ckan.datastore.read_url": "postgresql://datastore_default:pass@127.0.0.1/datastore_bench",
        "solr_url": "http://127.0.0.1:8983/solr/ckan_bench",
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


class Server:
    def __init__(self, ini: pathlib.Path, theme: bool) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.ini = ini.with_name(f"bench-{'theme' if theme else 'stock'}.ini")
        text = set_options(ini.read_text(encoding="utf-8"), {
            "ckanext.gelsenkirchen.theme.enabled": str(theme).lower(), "ckan.site_url": self.url})
        self.ini.write_text(text, encoding="utf-8")
        self.log = open(self.ini.with_suffix(".log"), "w")  # noqa: SIM115
        self.process = subprocess.Popen(
            [str(VENV_BIN / "ckan"), "-c", str(self.ini), "run", "--host", "127.0.0.1",
             "--port", str(self.port), "--disable-reloader", "--threaded"],
            stdout=self.log, stderr=subprocess.STDOUT, cwd=ROOT)
        deadline = time.monotonic() + 120
        while True:
            try:
                requests.get(f"{self.url}/api/3/action/status_show", timeout=2).raise_for_status()
                return
            except Exception:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    sys.exit(f"the bench server did not start (log: {self.log.name})")
                time.sleep(0.3)

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.process.kill()
        self.log.close()


def ckan_cli(ini: pathlib.Path, *args: str) -> str:
    return subprocess.run([str(VENV_BIN / "ckan"), "-c", str(ini), *args], check=True,
                          capture_output=True, text=True, cwd=ROOT).stdout


def seed(ini: pathlib.Path, server: Server, extra: int) -> None:
    """Sample content, once: skipped when the bench portal already has it."""
    found = requests.get(f"{server.url}/api/3/action/package_show", params={"id": "gk-breitband"},
                         timeout=30).json()
    if found.get("success"):
        return
    if "name=bench-admin" not in ckan_cli(ini, "user", "list"):
        ckan_cli(ini, "user", "add", "bench-admin", "email=bench@example.org",
                 "password=bench-admin-password-1")
        ckan_cli(ini, "sysadmin", "add", "bench-admin")
    token = ckan_cli(ini, "user", "token", "add", "bench-admin", "bench").strip().splitlines()[-1]
    session = requests.Session()
    session.headers["Authorization"] = token.strip()

    def act(action_name: str, /, files: dict | None = None, **data: object) -> dict:
        if files:
            resp = session.post(f"{server.url}/api/3/action/{action_name}", data=data,
                                files=files, timeout=120)
        else:
            resp = session.post(f"{server.url}/api/3/action/{action_name}", json=data, timeout=120)
        body = resp.json()
        if not body.get("success"):
            raise RuntimeError(f"{action_name}: {body.get('error')}")
        return body["result"]

    from tests.browser.sample_data import seed as seed_sample
    print(f"==> seeding the bench portal ({extra} extra datasets)", flush=True)
    seed_sample(act, extra_datasets=extra)


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
    parser.add_argument("--write-ini")
    parser.add_argument("--ini")
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--clients", type=int, default=4)
    parser.add_argument("--extra-datasets", type=int, default=60)
    opts = parser.parse_args()
    if opts.write_ini:
        write_ini(pathlib.Path(opts.write_ini))
        return 0
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
