"""Command line: ``pgsolr serve --dsn ... [--host] [--port] [--schema] [--log-level]
[--pool-size] [--pool-timeout] [--statement-timeout] [--max-scan-docs]
[--docsets-max-docs] [--docsets-min-matches] [--server werkzeug|gunicorn]
[--threads N] [--workers N]``,
``pgsolr print-schema [--language en|de]``, ``pgsolr configset DIR [--language de|en]``."""
from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from typing import Any

from .configset import LANGUAGES, schema_xml, write_configset
from .search import MAX_SCAN_DOCS, STATEMENT_TIMEOUT
from .store import POOL_TIMEOUT

# pgsolr serve --server gunicorn --threads: measured best on 2 cores
# (bench/search_servers.py, docs/operations.md)
GUNICORN_THREADS = 2


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pgsolr", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the Solr-compatible HTTP service")
    serve.add_argument("--dsn", required=True,
                       help="PostgreSQL DSN, e.g. postgresql://user@127.0.0.1/db")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8983)
    serve.add_argument("--schema", default=None,
                       help="complete schema.xml to use (default: CKAN's + pgsolr addition)")
    serve.add_argument("--log-level", default="info",
                       choices=["debug", "info", "warning", "error"])
    serve.add_argument("--pool-size", type=int, default=10,
                       help="maximum PostgreSQL connections")
    serve.add_argument("--pool-timeout", type=float, default=POOL_TIMEOUT, metavar="SECONDS",
                       help="answer 503 when no connection is free within SECONDS "
                            f"(default {POOL_TIMEOUT:g})")
    serve.add_argument("--statement-timeout", type=float, default=STATEMENT_TIMEOUT,
                       metavar="SECONDS",
                       help="cancel a search's SQL after SECONDS and answer 503 "
                            f"(default {STATEMENT_TIMEOUT:g}; 0: no limit)")
    serve.add_argument("--max-scan-docs", type=int, default=MAX_SCAN_DOCS, metavar="N",
                       help="refuse (400) leading/infix wildcards and regular expressions on "
                            f"text fields in cores of more than N documents (default {MAX_SCAN_DOCS}; "
                            "0: no limit)")
    serve.add_argument("--docsets-max-docs", type=int, default=None, metavar="N",
                       help="answer match-all queries of cores with up to N documents from "
                            "cached document sets in memory (default 200000; 0: always SQL)")
    serve.add_argument("--docsets-min-matches", type=int, default=None, metavar="N",
                       help="... once the core holds, or a query of it matched, N documents (default 1000; "
                            "make conformance uses 1 to run CKAN's tests through the sets)")
    serve.add_argument("--server", choices=["werkzeug", "gunicorn"], default="werkzeug",
                       help="werkzeug: threaded development server (default); gunicorn: "
                            "production server, one worker process with --threads threads")
    serve.add_argument("--threads", type=int, default=None, metavar="N",
                       help="gunicorn: request threads per worker (default 2: one runs Python "
                            "while the other waits for PostgreSQL; more lose to the GIL)")
    serve.add_argument("--workers", type=int, default=1, metavar="N",
                       help="gunicorn: worker processes (default 1; each keeps its own "
                            "document sets and database pool)")
    printer = sub.add_parser("print-schema", help="print the merged schema.xml (for Apache Solr)")
    printer.add_argument("--language", choices=LANGUAGES, default="en",
                         help="text analysis: en (CKAN's, default) or de (German; needs the "
                              "word list that `configset` writes beside it)")
    configset = sub.add_parser(
        "configset", help="write a Solr configset for CKAN (schema.xml, solrconfig.xml, ...)")
    configset.add_argument("directory", help="the configset's conf directory (created)")
    configset.add_argument("--language", choices=LANGUAGES, default="de",
                           help="text analysis: de (German, default) or en (CKAN's English)")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from .schema import load_schema

    if args.command == "print-schema":
        sys.stdout.write(schema_xml(args.language))
        return 0
    if args.command == "configset":
        names = write_configset(args.directory, args.language)
        print(f"wrote {', '.join(names)} to {args.directory} ({args.language})")
        return 0

    logging.basicConfig(level=getattr(logging, args.log_level.upper()),
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    # werkzeug's own access log would duplicate ours
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    from .server import create_server

    for name in ("docsets_max_docs", "docsets_min_matches", "statement_timeout",
                 "max_scan_docs"):
        if getattr(args, name) is not None and getattr(args, name) < 0:
            _parser().error(f"--{name.replace('_', '-')} must be 0 or more")
    if args.pool_timeout <= 0 or args.pool_size < 1:
        _parser().error("--pool-timeout must be more than 0 and --pool-size at least 1")
    if args.workers < 1 or (args.threads is not None and args.threads < 1):
        _parser().error("--workers and --threads must be at least 1")
    options = {"maxconn": args.pool_size, "docsets_max_docs": args.docsets_max_docs,
               "docsets_min_matches": args.docsets_min_matches,
               "statement_timeout": args.statement_timeout, "pool_timeout": args.pool_timeout,
               "max_scan_docs": args.max_scan_docs or None}
    if args.server == "gunicorn":
        return _serve_gunicorn(args, options)
    server = create_server(args.dsn, args.host, args.port, load_schema(args.schema), **options)
    log = logging.getLogger("pgsolr")

    def shutdown(signum: int, frame: Any) -> None:
        log.info("signal %s received, shutting down", signum)
        # shutdown() blocks until serve_forever returns: call it from a thread
        threading.Thread(target=server.httpd.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, shutdown)
    signal.signal(signal.SIGINT, shutdown)
    log.info("pgsolr listening on %s (schema %s)", server.url, server.app.schema.name)
    server.serve_forever()
    server.httpd.server_close()
    server.app.store.close()
    log.info("pgsolr stopped")
    return 0


def _serve_gunicorn(args: argparse.Namespace, options: dict[str, Any]) -> int:
    """The production server: the storage is checked and upgraded once, in
    the master, before any worker starts (a database that cannot be reached
    stops the command with its error); each worker then builds its own app."""
    from .production import serve
    from .schema import load_schema
    from .server import build_app
    from .store import Store

    schema = load_schema(args.schema)
    store = Store(args.dsn, maxconn=1, pool_timeout=args.pool_timeout)
    try:
        store.init_schema(schema)
    finally:
        store.close()
    threads = args.threads or GUNICORN_THREADS
    serve(lambda: build_app(args.dsn, schema, init_schema=False, **options),
          args.host, args.port, workers=args.workers, threads=threads)
    logging.getLogger("pgsolr").info("pgsolr stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
