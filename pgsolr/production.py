"""pgsolr under gunicorn: ``pgsolr serve --server gunicorn``.

One gunicorn worker process with a pool of threads (``gthread``): the
document sets and facet totals that pgsolr caches per core and write
generation live in process memory, so every request of the process shares
them and advances them once after a write. Several worker processes would
each build and advance their own copy (``--workers N`` allows it, for
measurements). The gunicorn master restarts a worker that dies and stops it
gracefully on SIGTERM; the worker closes its database pool when it exits.
The request handling (statement and pool timeouts, limits, error bodies) is
the same :class:`~pgsolr.server.PgSolrApp` as under the development server.
"""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from gunicorn.app.base import BaseApplication

log = logging.getLogger("pgsolr")

# The worker's heartbeat timeout: a gthread worker answers it from its main
# loop, so it only fires for a worker that hangs as a whole (a search is
# bounded by --statement-timeout and --pool-timeout instead).
WORKER_TIMEOUT = 60
# A request already running when the server is stopped may finish within
# this many seconds.
GRACEFUL_TIMEOUT = 20


def _close_store(_server: Any, worker: Any) -> None:
    """gunicorn's worker_exit hook: close the worker's database pool."""
    app = getattr(worker, "wsgi", None)
    store = getattr(app, "store", None)
    if store is not None:
        store.close()


class GunicornServer(BaseApplication):  # type: ignore[misc]
    """Runs the WSGI app that ``factory`` builds inside each worker (never in
    the master, so no database connection crosses a fork)."""

    def __init__(self, factory: Callable[[], Any], options: dict[str, Any]):
        self.factory = factory
        self.options = options
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            if key in self.cfg.settings:  # older gunicorns lack newer settings
                self.cfg.set(key, value)

    def load(self) -> Any:
        return self.factory()


def gunicorn_options(host: str, port: int, workers: int, threads: int) -> dict[str, Any]:
    return {
        "bind": f"[{host}]:{port}" if ":" in host else f"{host}:{port}",
        "workers": workers,
        "threads": threads,
        "worker_class": "gthread",
        "timeout": WORKER_TIMEOUT,
        "graceful_timeout": GRACEFUL_TIMEOUT,
        # CKAN's pysolr keeps its connections open between requests
        "keepalive": 30,
        # pgsolr logs every request itself (method, path, status, time)
        "accesslog": None,
        "proc_name": "pgsolr",
        "worker_exit": _close_store,
        # never recycle the worker: that would throw its caches away
        "max_requests": 0,
        # gunicorn >= 25.1 opens a control socket at one path per user
        # ($XDG_RUNTIME_DIR or ~/.gunicorn/gunicorn.ctl): a second gunicorn
        # (CKAN's) would take it over; pgsolr is stopped with signals
        "control_socket_disable": True,
    }


def serve(factory: Callable[[], Any], host: str, port: int, workers: int = 1,
          threads: int = 2) -> None:
    """Serve until SIGTERM or SIGINT (gunicorn's master loop)."""
    log.info("pgsolr under gunicorn on http://%s:%s/solr (%d worker%s x %d threads)",
             host, port, workers, "" if workers == 1 else "s", threads)
    GunicornServer(factory, gunicorn_options(host, port, workers, threads)).run()
