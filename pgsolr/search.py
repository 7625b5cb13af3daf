"""/select: request parameters -> one SQL statement -> Solr JSON response.

The statement materialises the match set once (``m``: id, order keys,
score, facet values) and derives numFound, the requested page (joined back
to the stored documents) and every facet from it.
"""
from __future__ import annotations

import fnmatch
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, overload

from . import dates
from .docsets import DocSets, filter_key
from .errors import bad_request, int_param
from .facets import (
    FacetSpec,
    column_expr,
    complement_ok,
    counts_json_sql,
    facet_sql,
    format_counts,
    from_complement,
    make_spec,
    rank_counts,
    totals_sql,
)
from .frags import Frag, _and
from .functions import COLUMN_FIELDS, compile_function
from .limits import MAX_QUERY_LEN, Budget
from .local_params import parse_local_params
from .query import Compiler
from .ranks import Atomized, atomize, class_scores, page_by_score, ranked, split
from .schema import NUMERIC, Schema, require_supported

MAX_ROWS = 1_000_000
# facet totals of a core are computed (once per write generation) after a
# query matched at least this many documents
TOTALS_MIN_MATCHES = 1000
TOTALS_CACHE_SIZE = 256
# queries of a core (CKAN's dataset list, spatial search, free text under
# filters) are answered from document sets (docsets.py) once the core holds
# this many documents, or a query of it matched them; smaller cores are
# cheap enough in SQL
DOCSETS_MIN_MATCHES = 1000
# ... and while it has at most this many documents: the sets of a core take
# ~0.3 KB per document plus ~0.16 KB per document and cached sort order
# (measured at 10,000 documents: 2.7 MB, and 1.6 MB per order)
DOCSETS_MAX_DOCS = 200_000
# Limits of one request (docs/pgsolr.md "Limits"); those of the query
# compiler are in limits.py, the function compiler's in functions.py.
MAX_PARAM_LEN = MAX_QUERY_LEN   # characters of any one parameter value
MAX_VALUES = 100                # values of one parameter (fq, facet.field, bf, ...)
MAX_SORT_KEYS = 20
# defaults of pgsolr serve --statement-timeout and --max-scan-docs
STATEMENT_TIMEOUT = 10.0        # seconds; 0: none
MAX_SCAN_DOCS = 50_000


class Params(Protocol):
    @overload
    def get(self, key: str) -> Any: ...
    @overload
    def get(self, key: str, default: Any) -> Any: ...
    def getlist(self, key: str) -> list[Any]: ...
    def keys(self) -> Iterable[str]: ...


@dataclass
class SortKey:
    expr: str
    params: list[Any]
    desc: bool
    missing: str | None
    is_score: bool = False


@dataclass
class Plan:
    """A compiled /select request, for either way of answering it."""
    qfrag: Frag                      # q
    filters: list[Frag]              # the fq list
    specs: list[FacetSpec]
    facet_cols: list[tuple[str, list[Any]]]   # per spec: its idx value (SQL path)
    facet_queries: list[tuple[str, Frag]]
    start: int
    rows: int
    score_sql: str                   # "1.0" when the score is not needed or constant
    need_score: bool
    cols: list[str]                  # uid, seq, score and the sort key columns s<i>
    col_params: list[Any]
    order_parts: list[str]           # ORDER BY over cols, ending with seq
    # the keys other than score: (column, desc, nulls first, ORDER BY item)
    sort_specs: list[tuple[str, bool, bool, str]]
    # the score over its ts_rank terms (ranks.py) when score sorts first
    atomized: Atomized | None = None
    score_first: bool = False        # score is the first sort key, and the only score key
    score_desc: bool = True
    score_params: list[Any] = field(default_factory=list)   # of score_sql (start of col_params)
    key_count: int = 0               # parameters of the sort key columns (end of col_params)


Answer = tuple[int, Any, Any, list[Any], list[int]]   # numFound, page, maxScore, facets, fq counts


def _int_param(params: Params, name: str, default: int) -> int:
    value = params.get(name)
    if value in (None, ""):
        return default
    return int_param(value, name)


def check_params(params: Params) -> None:
    """Every parameter: at most MAX_VALUES values of MAX_PARAM_LEN characters,
    without NUL (PostgreSQL's text cannot hold it)."""
    for key in params.keys():
        values = params.getlist(key)
        if len(values) > MAX_VALUES:
            raise bad_request(f"Too many values of parameter '{key[:100]}': {len(values)}, "
                              f"at most {MAX_VALUES}")
        for value in values:
            if len(str(value)) > MAX_PARAM_LEN:
                raise bad_request(f"Parameter '{key[:100]}' too long: {len(str(value))} "
                                  f"characters, at most {MAX_PARAM_LEN}")
            if "\x00" in str(value) or "\x00" in key:
                raise bad_request(f"Parameter '{key[:100]!r}' contains a NUL character")


# Request parameters of Solr components pgsolr does not have. Switched on,
# each is a 400 naming it: an answer without the asked-for section (or with
# an ungrouped, unhighlighted list) would look like a valid one.
_SWITCHES = ("hl", "group", "stats", "mlt", "spellcheck", "expand", "terms")
_FACET_PARAMS = ("facet.range", "facet.interval", "facet.heatmap", "facet.pivot")
_ON = ("true", "on", "1", "yes")


def check_features(params: Params) -> None:
    """A 400 for a Solr feature the request asks for that pgsolr lacks."""
    asked = [k for k in _SWITCHES if k in params.keys() and str(params.get(k)).lower() in _ON]
    if str(params.get("facet") or "").lower() in _ON:
        asked += [k for k in _FACET_PARAMS if k in params.keys() and params.get(k)]
    if params.get("json.facet"):
        asked.append("json.facet")
    if asked:
        raise bad_request(f"pgsolr does not support '{asked[0]}' (Apache Solr does)")


def parse_sort(schema: Schema, spec: str) -> list[SortKey]:
    keys: list[SortKey] = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        if len(keys) == MAX_SORT_KEYS:
            raise bad_request(f"Too many sort clauses in sort spec, at most {MAX_SORT_KEYS}")
        bits = part.split()
        if len(bits) != 2 or bits[1].lower() not in ("asc", "desc"):
            raise bad_request(
                f"Can't determine a Sort Order (asc or desc) in sort spec '{part}'")
        name, desc = bits[0], bits[1].lower() == "desc"
        if name == "score":
            keys.append(SortKey("score", [], desc, None, is_score=True))
            continue
        if name == "_docid_":
            keys.append(SortKey("seq", [], desc, None))
            continue
        fld = schema.field(name)
        if fld is None:
            # CKAN maps "Can't determine a Sort Order" to 'Invalid "sort" parameter'
            raise bad_request(
                f"Can't determine a Sort Order (asc or desc) in sort spec '{part}': "
                f"sort param field can't be found: {name}")
        require_supported(fld)
        if fld.multi:
            raise bad_request(f"can not sort on multivalued field: {name}")
        if fld.is_text:
            raise bad_request(f"can not sort on a tokenized text field: {name}")
        if not fld.indexed:
            raise bad_request(f"can not sort on unindexed field: {name}")
        expr = "(idx->>%s)::numeric" if fld.kind in NUMERIC else "(idx->>%s)"
        keys.append(SortKey(expr, [name], desc, fld.missing))
    return keys


def _fl_fields(fl: str) -> tuple[set[str], list[str], bool, bool]:
    """(names, glob patterns, all stored, score)."""
    names: set[str] = set()
    globs: list[str] = []
    everything = False
    score = False
    for item in re.split(r"[,\s]+", fl.strip()):
        if not item:
            continue
        if item == "*":
            everything = True
        elif item == "score":
            score = True
        elif "*" in item or "?" in item:
            globs.append(item)
        else:
            names.add(item)
    if not names and not globs and not everything:
        everything = True
    return names, globs, everything, score


class Searcher:
    def __init__(self, schema: Schema, store: Any, docsets_max_docs: int | None = None,
                 docsets_min_matches: int | None = None,
                 statement_timeout: float = STATEMENT_TIMEOUT,
                 max_scan_docs: int | None = MAX_SCAN_DOCS):
        self.schema = schema
        self.store = store
        # pgsolr serve --statement-timeout (seconds, 0: none), --max-scan-docs
        self.statement_timeout = statement_timeout
        self.max_scan_docs = max_scan_docs
        # (core, field) -> (generation, documents in core, {value: count})
        self._totals: dict[tuple[str, str], tuple[int, int, dict[str, int]]] = {}
        self._totals_lock = threading.Lock()
        self.docsets = DocSets()
        # None: DOCSETS_MAX_DOCS / DOCSETS_MIN_MATCHES (pgsolr serve --docsets-*)
        self.docsets_max_docs = docsets_max_docs
        self.docsets_min_matches = docsets_min_matches
        # how the selects were answered (shown by /solr/admin/cores)
        self.answered = {"sql": 0, "document sets": 0}
        self._answered_lock = threading.Lock()
        # cores that hold (or in which a query matched) >= DOCSETS_MIN_MATCHES
        # documents: answered from the document sets
        self._broad: set[str] = set()

    def search(self, core: str, params: Params) -> dict[str, Any]:
        check_params(params)
        check_features(params)
        with self.store.connection() as conn, conn.cursor() as cur:
            # JIT compilation (triggered by the planner's cost estimate for
            # the one-statement search) costs ~100 ms and never pays off here.
            # The planner's default random_page_cost (4, spinning disks)
            # prefers a sequential scan that detoasts every row's tsv (~45 ms
            # at 10,000 documents) to the GIN index (~2 ms) for free text;
            # an index that is searched all the time is cached.
            # Every statement of the search is cancelled after the statement
            # timeout (the server answers 503).
            settings = ("SET LOCAL jit = off; SET LOCAL random_page_cost = 1.1; "
                        f"SET LOCAL statement_timeout = {int(self.statement_timeout * 1000)}")
            faceted = str(params.get("facet") or "false").lower() in ("true", "on", "1", "yes") \
                and params.getlist("facet.field")
            if not faceted and core not in self._broad:
                # nothing cached can answer it: no generation needed
                cur.execute(settings)
                return self._search(cur, core, params, None)
            # one snapshot for the generation, the cached sets and the query
            cur.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY; " + settings)
            return self._search(cur, core, params, self.store.generation(cur, core))

    def answered_counts(self) -> dict[str, int]:
        """How many selects each way answered since the server started."""
        with self._answered_lock:
            return dict(self.answered)

    def _mark_broad(self, core: str) -> None:
        if len(self._broad) >= TOTALS_CACHE_SIZE:
            self._broad.clear()
        self._broad.add(core)

    def _max_docs(self) -> int:
        return DOCSETS_MAX_DOCS if self.docsets_max_docs is None else self.docsets_max_docs

    def _min_matches(self) -> int:
        return DOCSETS_MIN_MATCHES if self.docsets_min_matches is None \
            else self.docsets_min_matches

    def _cached_totals(self, core: str, name: str, gen: int) -> tuple[int, dict[str, int]] | None:
        with self._totals_lock:
            hit = self._totals.get((core, name))
        if hit is None or hit[0] != gen:
            return None
        return hit[1], hit[2]

    def _load_totals(self, cur: Any, core: str, gen: int, specs: list[FacetSpec]) -> None:
        sql, prm = totals_sql(specs, core)
        cur.execute(sql, prm)
        row = cur.fetchone()
        n = int(row[0])
        with self._totals_lock:
            if len(self._totals) >= TOTALS_CACHE_SIZE:
                self._totals.clear()
            for spec, counts in zip(specs, row[1:], strict=True):
                self._totals[(core, spec.field.name)] = (gen, n, {v: int(c) for v, c in counts})

    def _search(self, cur: Any, core: str, params: Params, gen: int | None) -> dict[str, Any]:  # noqa: C901 - plan building for every parameter; to split into a planner per parameter
        schema = self.schema
        plain = {k: params.get(k) for k in ("df", "q.op", "qf", "mm", "tie", "defType", "q.alt")
                 if params.get(k) is not None}
        budget = Budget(max_scan_docs=self.max_scan_docs,
                        core_docs=lambda: self.store.core_docs(cur, core))
        compiler = Compiler(schema, self.store.analyzer, cur, tz=dates.parse_tz(params.get("TZ")),
                            budget=budget)
        q = params.get("q")
        if q is None or not str(q).strip():
            q = params.get("q.alt") or "*:*"
            plain.pop("defType", None)
        def_type = (plain.get("defType") or "lucene").lower()
        qfrag = compiler.compile(str(q), plain)
        filters: list[Frag] = []
        for fq in params.getlist("fq"):
            if fq is None or not str(fq).strip():
                continue
            filters.append(compiler.compile(str(fq), plain, is_filter=True))

        start = _int_param(params, "start", 0)
        rows = _int_param(params, "rows", 10)
        if start < 0:
            raise bad_request("'start' parameter cannot be negative")
        if rows < 0:
            raise bad_request("'rows' parameter cannot be negative")
        rows = min(rows, MAX_ROWS)

        # boost functions (dismax/edismax only, as in Solr)
        score_sql, score_params = qfrag.score, list(qfrag.score_params)
        constant_score = qfrag.match_all and score_sql == "1.0"
        local_type = parse_local_params(str(q))[0].get("type")
        if def_type in ("dismax", "edismax") and local_type in (None, "dismax", "edismax"):
            for bf in params.getlist("bf"):
                for part in self._split_functions(str(bf)):
                    fn, boost = part
                    sql, prm = compile_function(fn, schema)
                    score_sql = f"({score_sql}) + COALESCE({sql}, 0) * %s"
                    score_params = score_params + prm + [boost]
                    constant_score = False
            if def_type == "edismax":
                for boost in params.getlist("boost"):
                    sql, prm = compile_function(str(boost), schema)
                    score_sql = f"({score_sql}) * COALESCE({sql}, 0)"
                    score_params = score_params + prm
                    constant_score = False

        sort_spec = params.get("sort")
        sort_keys = parse_sort(schema, str(sort_spec)) if sort_spec and str(sort_spec).strip() \
            else [SortKey("score", [], True, None, is_score=True)]
        names, globs, everything, want_score = _fl_fields(str(params.get("fl") or "*"))
        need_score = want_score or any(k.is_score for k in sort_keys)
        if not need_score or constant_score:
            score_sql, score_params = "1.0", []

        # facets
        facet_on = str(params.get("facet") or "false").lower() in ("true", "on", "1", "yes")
        specs: list[FacetSpec] = []
        facet_cols: list[tuple[str, list[Any]]] = []
        facet_queries: list[tuple[str, Frag]] = []
        if facet_on:
            for raw in params.getlist("facet.field"):
                local, name = parse_local_params(str(raw))
                name = name.strip()
                fld = schema.field(name)
                if fld is None:
                    raise bad_request(f"undefined field {name}")
                require_supported(fld)
                col = f"f{len(specs)}"
                specs.append(make_spec(fld, local.get("key", name), col, params.get))
                if fld.is_text:
                    # pgsolr keeps no raw tokens per text field: no counts
                    facet_cols.append(("NULL::jsonb", []))
                elif fld.multi:
                    facet_cols.append(("idx->%s", [name]))
                else:
                    facet_cols.append(("idx->>%s", [name]))
            for fq in params.getlist("facet.query"):
                facet_queries.append((str(fq), compiler.compile(str(fq), plain, is_filter=True)))

        cols = ["uid", "seq", f"({score_sql})::float8 AS score"]
        col_params: list[Any] = list(score_params)
        order_parts: list[str] = []
        sort_specs: list[tuple[str, bool, bool, str]] = []
        for i, key in enumerate(sort_keys):
            if key.is_score:
                order_parts.append(f"score {'DESC' if key.desc else 'ASC'}")
                continue
            if key.expr == "seq":
                order_parts.append(f"seq {'DESC' if key.desc else 'ASC'}")
                sort_specs.append(("seq", key.desc, False, order_parts[-1]))
                continue
            cols.append(f"{key.expr} AS s{i}")
            col_params.extend(key.params)
            if key.missing == "last":
                nulls = "NULLS LAST"
            elif key.missing == "first":
                nulls = "NULLS FIRST"
            else:
                nulls = "NULLS LAST" if key.desc else "NULLS FIRST"
            collate = "" if "::numeric" in key.expr else ' COLLATE "C"'
            order_parts.append(f"s{i}{collate} {'DESC' if key.desc else 'ASC'} {nulls}")
            sort_specs.append((f"s{i}", key.desc, nulls == "NULLS FIRST", order_parts[-1]))
        order_parts.append("seq ASC")
        plan = Plan(qfrag, filters, specs, facet_cols, facet_queries, start, rows, score_sql,
                    need_score, cols, col_params, order_parts, sort_specs)
        plan.score_first = sort_keys[0].is_score and not any(k.is_score for k in sort_keys[1:])
        plan.score_desc, plan.score_params = sort_keys[0].desc, list(score_params)
        if not qfrag.match_all and score_sql != "1.0" and plan.score_first:
            plan.atomized = atomize(score_sql, score_params)
            plan.key_count = len(col_params) - len(score_params)
        result = None
        if gen is not None and core in self._broad and not any(s.missing for s in specs) \
                and (qfrag.match_all or score_sql == "1.0" or plan.atomized is not None):
            result = self._via_docsets(cur, core, gen, plan)
        way = "document sets"
        if result is None:
            result = self._via_sql(cur, core, gen, plan)
            way = "sql"
        with self._answered_lock:
            self.answered[way] += 1
        num_found, page, max_score, facet_rows, fq_counts = result
        # The next queries go to the document sets once the core holds
        # enough documents (Store.core_docs: counted at most once a minute),
        # not only after a broad query: the first queries a portal gets may
        # be rare words, whose SQL path costs about three times their sets' path.
        if core not in self._broad and (
                self._min_matches() <= num_found <= self._max_docs()
                or self._min_matches() <= self.store.core_docs(cur, core) <= self._max_docs()):
            self._mark_broad(core)

        docs = []
        for _uid, score, stored in page:
            doc = {k: v for k, v in stored.items()
                   if everything or k in names or any(fnmatch.fnmatchcase(k, g) for g in globs)}
            if want_score:
                doc["score"] = float(score)
            docs.append(doc)
        response: dict[str, Any] = {"numFound": int(num_found), "start": start,
                                    "numFoundExact": True, "docs": docs}
        if want_score:
            response["maxScore"] = float(max_score) if max_score is not None else 0.0
        out: dict[str, Any] = {"response": response}
        if facet_on:
            out["facet_counts"] = {
                "facet_queries": {fq: int(c) for (fq, _), c in zip(facet_queries, fq_counts, strict=True)},
                "facet_fields": {s.key: format_counts(s, r) for s, r in zip(specs, facet_rows, strict=True)},
                "facet_ranges": {}, "facet_intervals": {}, "facet_heatmaps": {},
            }
        return out

    def _via_sql(self, cur: Any, core: str, gen: int | None, plan: Plan) -> Answer:  # noqa: C901 - match set, page and facets in one statement; to split
        """One SQL statement: the match set ``m`` materialised once, numFound,
        the page and every facet derived from it."""
        # WHERE clause: q and all fq as one conjunction, so that full-text and
        # string conditions merge into a single tsquery where that helps
        allf = _and([replace(plan.qfrag, score="0", score_params=[])] + plan.filters)
        where = ["core = %s", allf.sql]
        where_params: list[Any] = [core] + allf.params
        cols, col_params = list(plan.cols), list(plan.col_params)
        specs, facet_queries = plan.specs, plan.facet_queries
        rows, start, score_sql, order_parts = plan.rows, plan.start, plan.score_sql, plan.order_parts
        for i, (expr, prm) in enumerate(plan.facet_cols):
            cols.append(f"{expr} AS f{i}")
            col_params.extend(prm)
        for i, (_, frag) in enumerate(facet_queries):
            cols.append(f"({frag.sql}) AS q{i}")
            col_params.extend(frag.params)

        # The inner query (kept apart by OFFSET 0) filters using the indexes
        # and detoasts tsv once per matching row for the ts_rank calls and
        # for facet.query texts (without it they counted 0: NULL @@ q).
        needs_tsv = "tsv" in score_sql or any("tsv" in f.sql for _, f in facet_queries)
        tsv_col = "tsv || ''::tsvector AS tsv" if needs_tsv else "NULL::tsvector AS tsv"
        cte = (f"WITH m AS MATERIALIZED (SELECT {', '.join(cols)} FROM ("  # noqa: S608 - compiled fragments; all values are bound parameters
               f"SELECT uid, seq, idx, {', '.join(COLUMN_FIELDS)}, {tsv_col} FROM pgsolr_doc "
               f"WHERE {' AND '.join(where)} OFFSET 0) AS d)")
        # facets whose core totals are cached for this generation: counted
        # over the complement (core minus m) when m holds most of the core
        totals: dict[int, tuple[int, dict[str, int]]] = {}
        for i, spec in enumerate(specs):
            if gen is not None and complement_ok(spec):
                hit = self._cached_totals(core, spec.field.name, gen)
                if hit is not None:
                    totals[i] = hit
        comp_params: list[Any] = []
        if totals:
            comp_cols = []
            for i in totals:
                expr, prm = column_expr(specs[i])
                comp_cols.append(f"{expr} AS f{i}")
                comp_params.extend(prm)
            cte += (f", comp AS MATERIALIZED (SELECT {', '.join(comp_cols)} FROM pgsolr_doc AS c "  # noqa: S608 - generated names
                    "WHERE c.core = %s AND NOT EXISTS (SELECT 1 FROM m WHERE m.uid = c.uid))")
            comp_params.append(core)
        selects = ["(SELECT count(*) FROM m)"]
        sel_params: list[Any] = []
        if rows > 0:
            selects.append(self._page_sql(order_parts))
            sel_params.extend([rows, start, core])
        else:
            selects.append("'[]'::json")
        if plan.need_score:
            selects.append("(SELECT max(score) FROM m)")
        else:
            selects.append("NULL")
        for i, spec in enumerate(specs):
            if spec.field.is_text:
                selects.append("'[]'::json")
                continue
            sql, prm = facet_sql(spec, core)
            if i in totals:
                # CASE evaluates only the branch taken (subqueries are lazy)
                comp_sql = counts_json_sql(spec, "comp", f"f{i}")
                sql = ("CASE WHEN (SELECT count(*) FROM m) * 2 > %s THEN "  # noqa: S608 - generated
                       f"json_build_object('comp', {comp_sql}) ELSE {sql} END")
                prm = [totals[i][0]] + prm
            selects.append(sql)
            sel_params.extend(prm)
        for i in range(len(facet_queries)):
            selects.append(f"(SELECT count(*) FROM m WHERE q{i})")  # noqa: S608 - generated column name
        sql = cte + " SELECT " + ", ".join(selects)
        cur.execute(sql, col_params + where_params + comp_params + sel_params)
        row = cur.fetchone()
        num_found, page, max_score = row[0], row[1], row[2]
        facet_rows = list(row[3:3 + len(specs)])
        for i, (_n, counts) in totals.items():
            if isinstance(facet_rows[i], dict):
                facet_rows[i] = from_complement(specs[i], counts, facet_rows[i]["comp"])
        if gen is not None and num_found >= TOTALS_MIN_MATCHES \
                and not (plan.qfrag.match_all and core in self._broad):
            # (match-all queries of broad cores use the document sets instead)
            todo = [s for i, s in enumerate(specs) if complement_ok(s) and i not in totals]
            if todo:
                self._load_totals(cur, core, gen, todo)
        fq_counts = list(row[3 + len(specs):])
        return num_found, page, max_score, facet_rows, fq_counts

    def _via_docsets(self, cur: Any, core: str, gen: int, plan: Plan) -> Answer | None:
        """A match-all query under filters, answered from the core's document
        sets (docsets.py) as the SQL path answers it, or None to use the SQL
        path (a faceted field with too many values)."""
        specs, start, rows = plan.specs, plan.start, plan.rows
        filters = plan.filters
        facet_queries = [f for _, f in plan.facet_queries]
        score_sql, cols, col_params = plan.score_sql, plan.cols, plan.col_params
        sets = self.docsets.get(cur, core, gen, self._max_docs())
        if sets is None:   # the core grew too large for the sets
            self._broad.discard(core)
            return None
        query = [] if plan.qfrag.match_all else [replace(plan.qfrag, score="0", score_params=[])]
        wanted = [f for f in query + filters + facet_queries if not f.match_all]
        # a function score over the float columns (the spatial search's bf)
        # is computed in the filters' pass over the rows
        cheap = plan.score_first and plan.qfrag.match_all and score_sql != "1.0" \
            and "tsv" not in score_sql and "idx" not in score_sql
        found, scored = self.docsets.prepare(
            cur, sets, core, [(f.sql, f.params) for f in wanted],
            [(s.field.name, s.field.multi) for s in specs if not s.field.is_text],
            (score_sql, plan.score_params) if cheap else None)
        values = [None if spec.field.is_text else sets.values[spec.field.name] for spec in specs]
        if any(v is None for spec, v in zip(specs, values, strict=True) if not spec.field.is_text):
            return None

        def filter_set(f: Frag) -> int:
            return sets.alive if f.match_all else found[filter_key(f.sql, f.params)]

        match = sets.alive
        for f in query + filters:
            match &= filter_set(f)
        num_found = match.bit_count()
        facet_rows: list[Any] = [
            [] if vals is None else
            rank_counts(spec, {v: (m & match).bit_count() for v, m in vals.items()})
            for spec, vals in zip(specs, values, strict=True)]
        fq_counts = [(filter_set(f) & match).bit_count() for f in facet_queries]
        constant = score_sql == "1.0"
        max_score = (1.0 if num_found else None) if constant else None
        page: Any = []
        if constant and rows > 0:
            # the order of the whole core is cached; the page is the first matches in it
            order = self.docsets.order(cur, sets, core, ", ".join(cols), col_params,
                                       plan.sort_specs)
            seqs = sets.first(match, order.positions, start, rows)
            cur.execute("SELECT seq, stored FROM pgsolr_doc WHERE core = %s AND seq = ANY(%s)",
                        (core, seqs))
            stored = dict(cur.fetchall())
            page = [(None, 1.0, stored[q]) for q in seqs]
        elif plan.atomized is not None:
            got = self._ranked(cur, sets, core, plan, match)
            if got is None:
                return None
            max_score, page = got
        elif not constant and (rows > 0 or plan.need_score):
            # scores vary (bf, boost): computed in SQL for the matching
            # documents only, and kept for the generation (Solr's
            # queryResultCache: a map extent is often asked again)
            key = (match, filter_key(" ".join(cols + plan.order_parts), col_params), start, rows)
            hit = sets.results.get(key)
            if hit is None and plan.score_first:
                hit = self._function_ranked(cur, sets, core, plan, match, scored)
                if hit is not None:
                    sets.keep_result(key, hit)
            if hit is None:
                cur.execute(
                    f"WITH m AS MATERIALIZED (SELECT {', '.join(cols)} FROM pgsolr_doc "  # noqa: S608 - generated columns, values are bound
                    "WHERE core = %s AND seq = ANY(%s::bigint[])) SELECT (SELECT max(score) FROM m), "
                    # an array literal: adapting thousands of ints one by one costs more
                    + self._page_sql(plan.order_parts),
                    col_params + [core, "{" + ",".join(map(str, sets.members(match))) + "}"]
                    + [rows, start, core])
                hit = cur.fetchone()
                sets.keep_result(key, hit)
            max_score, page = hit
        return num_found, page, max_score, facet_rows, fq_counts

    def _ranked(self, cur: Any, sets: Any, core: str, plan: Plan,
                match: int) -> tuple[Any, list[Any]] | None:
        """maxScore and the page of a free-text query from the term classes
        of its score (ranks.py), or None to use the SQL path."""
        assert plan.atomized is not None
        classes = self.docsets.term_classes(cur, sets, core, plan.atomized.terms)
        parts = None if classes is None else split(match, classes)
        if parts is None:
            return None
        scores = class_scores(cur, plan.atomized, parts)
        groups = ranked(parts, scores, plan.score_desc)
        max_score = max(scores.values()) if scores else None
        if plan.rows == 0:
            return max_score, []
        # the other sort keys: the order the constant-score path caches
        cols = plan.cols[:2] + ["(1.0)::float8 AS score"] + plan.cols[3:]
        order = self.docsets.order(cur, sets, core, ", ".join(cols),
                                   plan.col_params[len(plan.col_params) - plan.key_count:],
                                   plan.sort_specs)
        picked = sets.first_ranked(groups, order, plan.start, plan.rows)
        cur.execute("SELECT seq, stored FROM pgsolr_doc WHERE core = %s AND seq = ANY(%s)",
                    (core, [q for q, _ in picked]))
        stored = dict(cur.fetchall())
        return max_score, [(None, score, stored[q]) for q, score in picked]

    def _function_ranked(self, cur: Any, sets: Any, core: str, plan: Plan, match: int,
                         scored: list[tuple[int, Any]] | None) -> tuple[Any, list[Any]] | None:
        """maxScore and the page of a match set scored by a function (bf,
        boost: the spatial search's overlap ratio) that sorts first, from the
        scores the filters' pass computed (``scored``, a superset of the
        match set), ties in the cached order of the other sort keys
        (ranks.page_by_score); or None for the SQL statement."""
        if scored is None:
            return None
        pos, raw = sets.pos, match.to_bytes((sets.size + 7) // 8, "little")
        scored = [(q, s) for q, s in scored if raw[pos[q] >> 3] >> (pos[q] & 7) & 1]
        cols = plan.cols[:2] + ["(1.0)::float8 AS score"] + plan.cols[3:]
        order = self.docsets.order(cur, sets, core, ", ".join(cols),
                                   plan.col_params[len(plan.score_params):], plan.sort_specs)
        rank = order.rank(sets.size)
        picked = page_by_score(scored, lambda q: rank[pos[q]], plan.start, plan.rows,
                               plan.score_desc)
        if picked is None:
            return None
        cur.execute("SELECT seq, stored FROM pgsolr_doc WHERE core = %s AND seq = ANY(%s)",
                    (core, [q for q, _ in picked]))
        stored = dict(cur.fetchall())
        return max((s for _, s in scored), default=None), [(None, s, stored[q]) for q, s in picked]

    @staticmethod
    def _page_sql(order_parts: list[str]) -> str:
        """The page of ``m`` with the stored documents, as json [[uid, score, stored]]."""
        return ("(SELECT COALESCE(json_agg(json_build_array(p.uid, p.score, d.stored) ORDER BY p.rn),"  # noqa: S608 - fixed template
                " '[]'::json) FROM (SELECT uid, score, row_number() OVER () AS rn FROM "
                f"(SELECT uid, score FROM m ORDER BY {', '.join(order_parts)} LIMIT %s OFFSET %s) AS o"
                ") AS p JOIN pgsolr_doc d ON d.core = %s AND d.uid = p.uid)")

    @staticmethod
    def _split_functions(bf: str) -> list[tuple[str, float]]:
        """bf may hold several functions separated by spaces, each with ^boost."""
        out: list[tuple[str, float]] = []
        depth = 0
        current = ""
        for ch in bf + " ":
            if ch == "(":
                depth += 1
            elif ch == ")":
                depth -= 1
            if ch.isspace() and depth <= 0:
                if current:
                    fn, _, boost = current.rpartition("^") if re.search(r"\^[\d.]+$", current) \
                        else (current, "", "")
                    try:
                        out.append((fn, float(boost) if boost else 1.0))
                    except ValueError:
                        raise bad_request(f"Invalid boost in bf: {current}") from None
                    current = ""
                continue
            current += ch
        return out
