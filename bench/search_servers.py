"""Which server for pgsolr: werkzeug's threaded development server, gunicorn
with one process of threads, gunicorn with several processes, or gunicorn's
gevent (async) worker - measured on the same core.

    python -m bench.search_servers [--docs 10000] [--clients 8] [--seconds 20]

Indexes --docs CKAN-like datasets (bench/search.py) into a core once, then
starts each server in turn on a free port and sends CKAN's query shapes
(free text, field filter, spatial bbox, sort, a new map extent) from
--clients threads with keep-alive sessions for --seconds, while a writer
re-indexes one dataset every --write-every seconds (2; as harvests do): every write starts a new
generation, whose cached document sets each process advances on its next
broad query. Prints throughput, p50/p95/p99, errors and the servers' memory
(RSS of all their processes). The core is removed at the end.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
from typing import Any

import pysolr
import requests

from .portal import PGSOLR_DSN, ROOT, free_port, stop_process, wait_for
from .search import _new_box, make_doc, query_shapes

LOG = ROOT / ".run" / "bench" / "search-servers.log"
SERVERS: dict[str, list[str]] = {
    "werkzeug, threads (pgsolr serve)": [],
    "gunicorn, 1 process x 10 threads": ["--server", "gunicorn", "--threads", "10"],
    "gunicorn, 1 process x 2 threads": ["--server", "gunicorn", "--threads", "2",
                                        "--pool-size", "2"],
    "gunicorn, 1 process x 4 threads": ["--server", "gunicorn", "--threads", "4",
                                        "--pool-size", "4"],
    "gunicorn, 2 processes x 2 threads": ["--server", "gunicorn", "--workers", "2",
                                          "--threads", "2", "--pool-size", "2"],
    "gunicorn, 2 processes x 5 threads": ["--server", "gunicorn", "--workers", "2",
                                          "--threads", "5", "--pool-size", "5"],
    "gunicorn, 4 processes x 1 thread": ["--server", "gunicorn", "--workers", "4",
                                         "--threads", "1", "--pool-size", "2"],
    "gunicorn, gevent (async), 1 process": ["gevent"],
}


def _serve_gevent(port: int) -> None:
    """pgsolr's app under gunicorn's gevent worker (not offered by the CLI:
    psycopg2 blocks the event loop, see the figures)."""
    from pgsolr.production import GunicornServer, gunicorn_options
    from pgsolr.schema import load_schema
    from pgsolr.server import build_app
    schema = load_schema()
    options = gunicorn_options("127.0.0.1", port, 1, 1)
    options.update(worker_class="gevent", worker_connections=100)
    GunicornServer(lambda: build_app(PGSOLR_DSN, schema), options).run()


def _start(args: list[str]) -> tuple[subprocess.Popen, str]:
    port = free_port()
    if args == ["gevent"]:
        cmd = [sys.executable, "-m", "bench.search_servers", "--serve-gevent", str(port)]
    else:
        cmd = [str(os.path.join(os.path.dirname(sys.executable), "pgsolr")), "serve", "--dsn",
               PGSOLR_DSN, "--port", str(port), "--log-level", "warning", *args]
    LOG.parent.mkdir(parents=True, exist_ok=True)
    with open(LOG, "w") as out:
        proc = subprocess.Popen(cmd, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/solr"
    wait_for(f"{url}/x/admin/ping", proc, LOG, "pgsolr")
    return proc, url


def _rss_mb(pid: int) -> float:
    out = subprocess.run(["ps", "-o", "rss=", "--pid", str(pid), "--ppid", str(pid)],
                         capture_output=True, text=True, check=False).stdout.split()
    return sum(int(x) for x in out) / 1024


def _params() -> list[dict[str, Any]]:
    shapes = list(query_shapes().values())
    rnd = random.Random(3)
    return shapes + [_new_box(rnd) for _ in range(len(shapes))]


def load(core: str, clients: int, seconds: float, docs: list[dict],
         write_every: float = 2) -> dict[str, Any]:
    mix = _params()
    stop = time.monotonic() + seconds
    times: list[float] = []
    errors = [0]
    lock = threading.Lock()

    def client(k: int) -> None:
        session = requests.Session()
        rnd = random.Random(k)
        while time.monotonic() < stop:
            params = dict(rnd.choice(mix))
            t = time.perf_counter()
            try:
                r = session.get(f"{core}/select", params=params, timeout=30)
                ok = r.status_code == 200
            except requests.RequestException:
                ok = False
            with lock:
                times.append((time.perf_counter() - t) * 1000)
                errors[0] += not ok

    def writer() -> None:
        solr = pysolr.Solr(core, timeout=60)
        k = 0
        while write_every and time.monotonic() < stop - 1:
            solr.add([docs[k % len(docs)]], commit=True)
            k += 1
            time.sleep(write_every)

    threads = [threading.Thread(target=client, args=(k,)) for k in range(clients)]
    threads.append(threading.Thread(target=writer))
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=seconds + 60)
    times.sort()
    return {"requests": len(times), "rps": len(times) / seconds, "errors": errors[0],
            "p50": statistics.median(times), "p95": times[int(0.95 * (len(times) - 1))],
            "p99": times[int(0.99 * (len(times) - 1))]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--docs", type=int, default=10000)
    parser.add_argument("--clients", type=int, default=8)
    parser.add_argument("--seconds", type=float, default=20)
    parser.add_argument("--write-every", type=float, default=2,
                        help="seconds between two re-indexed datasets (0: no writes)")
    parser.add_argument("--only", default=None, help="servers whose label contains this")
    parser.add_argument("--serve-gevent", type=int, default=None, help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.serve_gevent:
        _serve_gevent(opts.serve_gevent)
        return 0
    name = f"servers_{uuid.uuid4().hex[:8]}"
    rnd = random.Random(42)
    docs = [make_doc(i, rnd) for i in range(opts.docs)]
    proc, url = _start(SERVERS["gunicorn, 1 process x 10 threads"])
    try:
        solr = pysolr.Solr(f"{url}/{name}", timeout=600)
        for i in range(0, len(docs), 500):
            solr.add(docs[i:i + 500], commit=False)
        solr.commit()
    finally:
        stop_process(proc)
    print(f"{opts.docs} documents, {opts.clients} clients for {opts.seconds:g} s per server, a "
          f"re-index every {opts.write_every:g} s (0: none); {os.cpu_count()} cores, load average {os.getloadavg()[0]:.2f}\n")
    print("| server | requests/s | p50 | p95 | p99 | errors | memory (RSS, all processes) |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    try:
        for label, args in SERVERS.items():
            if opts.only and opts.only not in label:
                continue
            proc, url = _start(args)
            try:
                core = f"{url}/{name}"
                # warm-up: every process builds its sets (a few rounds of the mix)
                session = requests.Session()
                for params in _params() * 4:
                    session.get(f"{core}/select", params=params, timeout=60)
                r = load(core, opts.clients, opts.seconds, docs, opts.write_every)
                rss = _rss_mb(proc.pid)
            finally:
                stop_process(proc)
            print(f"| {label} | {r['rps']:.1f} | {r['p50']:.1f} ms | {r['p95']:.1f} ms | "
                  f"{r['p99']:.1f} ms | {r['errors']} | {rss:.0f} MB |", flush=True)
    finally:
        proc, url = _start([])
        try:
            pysolr.Solr(f"{url}/{name}", timeout=600).delete(q="*:*", commit=True)
        finally:
            stop_process(proc)
    return 0


if __name__ == "__main__":
    sys.exit(main())
