"""The HTTP side: a werkzeug WSGI app speaking Solr's API, and werkzeug's
threaded development server for it (``pgsolr serve``, tests); the production
server is gunicorn (``pgsolr serve --server gunicorn``, production.py)."""
from __future__ import annotations

import json
import logging
import re
import socketserver
import threading
import time
from typing import Any

import psycopg2
import psycopg2.errors
from defusedxml import ElementTree
from defusedxml.common import DefusedXmlException
from werkzeug.datastructures import MultiDict
from werkzeug.exceptions import HTTPException, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from .documents import prepare
from .errors import SolrError, bad_request
from .query import Compiler
from .schema import Schema
from .search import MAX_SCAN_DOCS, STATEMENT_TIMEOUT, Searcher
from .store import POOL_TIMEOUT, Store

log = logging.getLogger("pgsolr")

CORE_RE = re.compile(r"^[A-Za-z0-9_\-.]{1,100}$")
MAX_BODY = 256 * 1024 * 1024
# Names pgsolr on every response (``ckan gelsenkirchen doctor`` looks for it).
SERVER_HEADER = "X-Search-Server"

URLS = Map([
    Rule("/solr/admin/cores", endpoint="cores", strict_slashes=False),
    Rule("/solr/<core>/select", endpoint="select", strict_slashes=False),
    Rule("/solr/<core>/query", endpoint="select", strict_slashes=False),
    Rule("/solr/<core>/update", endpoint="update", strict_slashes=False),
    Rule("/solr/<core>/update/json", endpoint="update", strict_slashes=False),
    Rule("/solr/<core>/update/json/docs", endpoint="update_docs", strict_slashes=False),
    Rule("/solr/<core>/schema", endpoint="schema", strict_slashes=False),
    Rule("/solr/<core>/schema/<path:part>", endpoint="schema_part", strict_slashes=False),
    Rule("/solr/<core>/admin/file", endpoint="admin_file", strict_slashes=False),
    Rule("/solr/<core>/admin/ping", endpoint="ping", strict_slashes=False),
])


def _json(body: Any, status: int = 200) -> Response:
    return Response(json.dumps(body, ensure_ascii=False), status=status,
                    content_type="application/json; charset=utf-8")


def _header(params: MultiDict, start: float, status: int = 0) -> dict[str, Any]:
    echoed: dict[str, Any] = {}
    for key in params.keys():
        values = params.getlist(key)
        echoed[key] = values if len(values) > 1 else values[0]
    return {"status": status, "QTime": int((time.monotonic() - start) * 1000),
            "params": echoed}


class PgSolrApp:
    def __init__(self, store: Store, schema: Schema, docsets_max_docs: int | None = None,
                 docsets_min_matches: int | None = None,
                 statement_timeout: float = STATEMENT_TIMEOUT,
                 max_scan_docs: int | None = MAX_SCAN_DOCS):
        self.store = store
        self.schema = schema
        self.searcher = Searcher(schema, store, docsets_max_docs, docsets_min_matches,
                                 statement_timeout, max_scan_docs)

    # -- WSGI -------------------------------------------------------------
    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        request = Request(environ)
        request.max_content_length = MAX_BODY
        t0 = time.monotonic()
        response = self.dispatch(request, t0)
        response.headers[SERVER_HEADER] = "pgsolr"
        log.info("%s %s %s %.1fms", request.method, request.path, response.status_code,
                 (time.monotonic() - t0) * 1000)
        return response(environ, start_response)

    def dispatch(self, request: Request, t0: float) -> Response:
        params: MultiDict = MultiDict()
        try:
            adapter = URLS.bind_to_environ(request.environ)
            endpoint, args = adapter.match()
            params = MultiDict(request.args)
            core = args.get("core")
            if core is not None and not CORE_RE.match(core):
                raise NotFound()
            handler = getattr(self, "on_" + endpoint)
            return handler(request, params, t0, **args)
        except Exception as exc:  # noqa: BLE001 - every failure gets a Solr error body
            err = self._solr_error(exc, request, params)
        body = err.body()
        body["responseHeader"] = _header(params, t0, err.code)
        return _json(body, err.code)

    def _solr_error(self, exc: Exception, request: Request, params: MultiDict) -> SolrError:
        """The Solr error for a failed request: 400 for what the request
        asked wrongly, 503 for what may work later, 500 for the rest."""
        if isinstance(exc, SolrError):
            return exc
        if isinstance(exc, NotFound):
            return SolrError(f"Not Found: {request.path}", 404)
        if isinstance(exc, HTTPException):
            return SolrError(exc.description or exc.name, exc.code or 400)
        if isinstance(exc, psycopg2.DataError):
            # bad values that only PostgreSQL detects (overflow, bad regex, ...)
            log.info("data error: %s", exc)
            return bad_request("Invalid query value: " + str(exc).split("\n")[0])
        if isinstance(exc, psycopg2.errors.QueryCanceled):
            # statement_timeout (search.py)
            log.warning("statement timeout on %s %.2000s", request.path, dict(params.lists()))
            return SolrError("pgsolr: the search ran longer than the statement timeout of "
                             f"{self.searcher.statement_timeout:g} s and was cancelled "
                             "(pgsolr serve --statement-timeout)", 503)
        if isinstance(exc, psycopg2.OperationalError) and (exc.pgcode or "").startswith("54"):
            # program limit exceeded: too complex for PostgreSQL
            log.info("limit exceeded: %s", exc)
            return bad_request("Query too complex: " + str(exc).split("\n")[0])
        if isinstance(exc, psycopg2.OperationalError) and exc.pgcode is None:
            log.exception("database unavailable on %s", request.path)
            return SolrError("pgsolr: the database is unavailable", 503)
        log.exception("internal error on %s", request.path)
        return SolrError("Internal server error", 500)

    def _all_params(self, request: Request, params: MultiDict) -> MultiDict:
        if request.method == "POST" and request.mimetype == "application/x-www-form-urlencoded":
            merged = MultiDict(params)
            for key, value in request.form.items(multi=True):
                merged.add(key, value)
            return merged
        return params

    # -- endpoints ----------------------------------------------------------
    def on_select(self, request: Request, params: MultiDict, t0: float, core: str) -> Response:
        params = self._all_params(request, params)
        wt = params.get("wt", "json")
        if wt not in ("json", "python"):
            raise bad_request(f"pgsolr only answers wt=json (got wt={wt})")
        result = self.searcher.search(core, params)
        body = {"responseHeader": _header(params, t0)}
        body.update(result)
        return _json(body)

    def on_update_docs(self, request: Request, params: MultiDict, t0: float,
                       core: str) -> Response:
        data = self._load_json(request)
        docs = data if isinstance(data, list) else [data]
        return self._apply(core, [("add", d) for d in docs], params, t0)

    def on_update(self, request: Request, params: MultiDict, t0: float, core: str) -> Response:
        body = request.get_data()
        ops: list[tuple[str, Any]] = []
        if body.strip():
            if request.mimetype in ("application/json", "text/json") or \
                    body.lstrip()[:1] in (b"[", b"{"):
                ops = self._json_ops(self._load_json(request))
            else:
                ops = self._xml_ops(body)
        return self._apply(core, ops, params, t0)

    def on_schema(self, request: Request, params: MultiDict, t0: float, core: str) -> Response:
        if params.get("wt") == "schema.xml":
            return Response(self.schema.xml, content_type="application/xml; charset=utf-8")
        return _json({"responseHeader": _header(params, t0), "schema": {
            "name": self.schema.name, "uniqueKey": self.schema.unique_key,
            "fields": [{"name": f.name, "type": f.kind, "multiValued": f.multi,
                        "indexed": f.indexed, "stored": f.stored}
                       for f in self.schema.fields.values()]}})

    def on_schema_part(self, request: Request, params: MultiDict, t0: float, core: str,
                       part: str) -> Response:
        header = _header(params, t0)
        if part == "version":
            version = re.search(r'<schema[^>]*\sversion="([^"]+)"', self.schema.xml)
            return _json({"responseHeader": header,
                          "version": float(version.group(1)) if version else 1.6})
        if part == "name":
            return _json({"responseHeader": header, "name": self.schema.name})
        if part == "uniquekey":
            return _json({"responseHeader": header, "uniqueKey": self.schema.unique_key})
        raise NotFound()

    def on_admin_file(self, request: Request, params: MultiDict, t0: float, core: str) -> Response:
        if params.get("file") in ("schema.xml", "managed-schema", "managed-schema.xml"):
            return Response(self.schema.xml, content_type="application/xml; charset=utf-8")
        raise NotFound()

    def on_ping(self, request: Request, params: MultiDict, t0: float, core: str) -> Response:
        with self.store.connection() as conn, conn.cursor() as cur:
            cur.execute("SELECT 1")
        return _json({"responseHeader": _header(params, t0), "status": "OK", "server": "pgsolr"})

    def on_cores(self, request: Request, params: MultiDict, t0: float) -> Response:
        status = {name: {"name": name, "index": {"numDocs": count}}
                  for name, count in self.store.cores()}
        return _json({"responseHeader": _header(params, t0), "initFailures": {}, "status": status,
                      "pgsolr": {"selects answered": self.searcher.answered_counts()}})

    # -- update helpers -------------------------------------------------------
    @staticmethod
    def _load_json(request: Request) -> Any:
        try:
            return json.loads(request.get_data(), object_pairs_hook=lambda pairs: pairs)
        except ValueError as exc:
            raise bad_request(f"Cannot parse provided JSON: {exc}") from None

    @staticmethod
    def _to_dict(value: Any) -> Any:
        """Undo object_pairs_hook (kept to see repeated "add" keys)."""
        if isinstance(value, list) and all(isinstance(p, tuple) and len(p) == 2 for p in value) \
                and value:
            return {k: PgSolrApp._to_dict(v) for k, v in value}
        if isinstance(value, list):
            return [PgSolrApp._to_dict(v) for v in value]
        return value

    def _json_ops(self, data: Any) -> list[tuple[str, Any]]:
        ops: list[tuple[str, Any]] = []
        is_object = isinstance(data, list) and data and all(
            isinstance(p, tuple) and len(p) == 2 for p in data)
        if not is_object:
            docs = self._to_dict(data)
            if not isinstance(docs, list):
                raise bad_request("Expected a JSON list of documents or an update object")
            return [("add", d) for d in docs]
        for key, value in data:
            value = self._to_dict(value)
            if key == "add":
                items = value if isinstance(value, list) else [value]
                for item in items:
                    doc = item.get("doc", item) if isinstance(item, dict) else item
                    ops.append(("add", doc))
            elif key == "delete":
                items = value if isinstance(value, list) else [value]
                for item in items:
                    if isinstance(item, dict) and "query" in item:
                        ops.append(("delete_query", str(item["query"])))
                    elif isinstance(item, dict) and "id" in item:
                        ops.append(("delete_id", str(item["id"])))
                    elif isinstance(item, (str, int)):
                        ops.append(("delete_id", str(item)))
                    else:
                        raise bad_request(f"Invalid delete command: {item}")
            elif key in ("commit", "optimize", "rollback"):
                ops.append((key, None))
            else:
                raise bad_request(f"Unknown command '{key}'")
        return ops

    @staticmethod
    def _xml_ops(body: bytes) -> list[tuple[str, Any]]:
        try:
            root = ElementTree.fromstring(body)
        except (ElementTree.ParseError, DefusedXmlException, ValueError) as exc:
            raise bad_request(f"Unexpected XML in update request: {exc}") from None
        elements = [root] if root.tag != "update" else list(root)
        ops: list[tuple[str, Any]] = []
        for el in elements:
            if el.tag == "add":
                for doc_el in el:
                    if doc_el.tag != "doc":
                        raise bad_request(f"Unexpected <{doc_el.tag}> in <add>")
                    doc: dict[str, Any] = {}
                    for f in doc_el:
                        if f.tag != "field" or not f.get("name"):
                            continue
                        if f.get("null") == "true":
                            continue
                        name = f.get("name")
                        value = f.text or ""
                        if name in doc:
                            prev = doc[name]
                            doc[name] = (prev if isinstance(prev, list) else [prev]) + [value]
                        else:
                            doc[name] = value
                    ops.append(("add", doc))
            elif el.tag == "delete":
                for child in el:
                    if child.tag == "id":
                        ops.append(("delete_id", (child.text or "").strip()))
                    elif child.tag == "query":
                        ops.append(("delete_query", child.text or ""))
            elif el.tag in ("commit", "optimize", "rollback"):
                ops.append((el.tag, None))
            else:
                raise bad_request(f"Unknown update command <{el.tag}>")
        return ops

    def _apply(self, core: str, ops: list[tuple[str, Any]], params: MultiDict,
               t0: float) -> Response:
        # Every request is one transaction: visible once it returns, which
        # makes commit/softCommit no-ops.
        with self.store.connection() as conn, conn.cursor() as cur:
            pending: list[Any] = []
            for op, arg in ops:
                if op == "add":
                    if not isinstance(arg, dict):
                        raise bad_request("Document must be a JSON object")
                    pending.append(prepare(self.schema, arg))
                    continue
                if pending:
                    self.store.add(cur, core, pending)
                    pending = []
                if op == "delete_id":
                    self.store.delete_ids(cur, core, [arg])
                elif op == "delete_query":
                    compiler = Compiler(self.schema, self.store.analyzer, cur)
                    frag = compiler.compile(arg, {"df": "text"}, is_filter=True)
                    self.store.delete_where(cur, core, frag.sql, frag.params)
            if pending:
                self.store.add(cur, core, pending)
        commit = any(op in ("commit", "optimize") for op, _ in ops) or any(
            str(params.get(k, "")).lower() == "true" for k in ("commit", "softCommit"))
        if commit:
            self.store.maybe_analyze()
        return _json({"responseHeader": {"status": 0,
                                         "QTime": int((time.monotonic() - t0) * 1000)}})


class PgSolrServer:
    """A threaded werkzeug server that can run in a background thread."""

    def __init__(self, app: PgSolrApp, host: str = "127.0.0.1", port: int = 8983):
        self.app = app
        self.httpd = make_server(host, port, app, threaded=True)
        if isinstance(self.httpd, socketserver.ThreadingMixIn):
            self.httpd.daemon_threads = True
        self.port = self.httpd.server_port
        self.host = host
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/solr"

    def serve_forever(self) -> None:
        self.httpd.serve_forever()

    def start(self) -> PgSolrServer:
        self._thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        if self._thread:
            self._thread.join(timeout=10)
        self.app.store.close()


def build_app(dsn: str, schema: Schema | None = None, maxconn: int = 10,
              docsets_max_docs: int | None = None,
              docsets_min_matches: int | None = None,
              statement_timeout: float = STATEMENT_TIMEOUT,
              pool_timeout: float = POOL_TIMEOUT,
              max_scan_docs: int | None = MAX_SCAN_DOCS,
              init_schema: bool = True) -> PgSolrApp:
    """The WSGI app with its own connection pool (one per process)."""
    from .schema import load_schema
    store = Store(dsn, maxconn=maxconn, pool_timeout=pool_timeout)
    schema = schema or load_schema()
    if init_schema:
        store.init_schema(schema)
    return PgSolrApp(store, schema, docsets_max_docs, docsets_min_matches, statement_timeout,
                     max_scan_docs)


def create_server(dsn: str, host: str = "127.0.0.1", port: int = 8983,
                  schema: Schema | None = None, maxconn: int = 10,
                  docsets_max_docs: int | None = None,
                  docsets_min_matches: int | None = None,
                  statement_timeout: float = STATEMENT_TIMEOUT,
                  pool_timeout: float = POOL_TIMEOUT,
                  max_scan_docs: int | None = MAX_SCAN_DOCS) -> PgSolrServer:
    # werkzeug's own per-request access log would duplicate ours
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    app = build_app(dsn, schema, maxconn, docsets_max_docs, docsets_min_matches,
                    statement_timeout, pool_timeout, max_scan_docs)
    return PgSolrServer(app, host, port)
