"""Property-based fuzzing of pgsolr's /select parameters (issue 12).

Hypothesis builds parameter sets from a Lucene/function/facet grammar mixed
with arbitrary text, and POSTs each to a real pgsolr (in-process, against
PostgreSQL) holding 60 CKAN-like datasets. The property: the answer is a
200 with a well-formed body or a 400 with Solr's error JSON; never a 500 or
503, never slower than TIME_BUDGET, and the longest SQL statement the
request sent is linear in the length of its parameters.

``make test`` runs PGSOLR_FUZZ_EXAMPLES (default 300) derandomized
examples; ``make fuzz-search`` runs FUZZ_EXAMPLES (default 100,000) random
ones and prints what it tried. Every failure found becomes a regression
test in test_limits.py.
"""
from __future__ import annotations

import os
import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import psycopg2.extensions
import pysolr
import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg2.pool import ThreadedConnectionPool

from bench.search import make_doc
from pgsolr.server import PgSolrServer, create_server

pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisWarning")

EXAMPLES = int(os.environ.get("PGSOLR_FUZZ_EXAMPLES", "300"))
LONG_RUN = os.environ.get("PGSOLR_FUZZ_LONG") == "1"
TIME_BUDGET = float(os.environ.get("PGSOLR_FUZZ_SECONDS_PER_REQUEST", "5"))
# the longest statement may be SQL_PER_CHAR characters per character of the
# request's parameters, plus SQL_BASE: linear, where a doubling per nesting
# level (finding 1) exceeds any such bound within a few levels
SQL_BASE = 60_000
SQL_PER_CHAR = 400
DOCS = 60


class _Meter:
    """The longest SQL statement sent since reset (requests run one at a time)."""
    lock = threading.Lock()
    longest = 0

    @classmethod
    def reset(cls) -> None:
        with cls.lock:
            cls.longest = 0

    @classmethod
    def note(cls, n: int) -> None:
        with cls.lock:
            cls.longest = max(cls.longest, n)


class MeteredCursor(psycopg2.extensions.cursor):
    def execute(self, query: Any, vars: Any = None) -> Any:  # noqa: A002 - psycopg2's name
        _Meter.note(len(query) if isinstance(query, (str, bytes)) else 0)
        return super().execute(query, vars)


def _server(dsn: str, **options: Any) -> PgSolrServer:
    server = create_server(dsn, "127.0.0.1", 0, statement_timeout=TIME_BUDGET * 0.6,
                           **options)
    store = server.app.store
    store.pool.closeall()
    store.pool = ThreadedConnectionPool(1, 10, dsn, cursor_factory=MeteredCursor)
    return server.start()


@pytest.fixture(scope="module")
def fuzz_cores(pgsolr_dsn: str) -> Iterator[list[str]]:
    """The same 60 datasets behind two servers: one answering in SQL, one
    answering match-all queries from its document sets."""
    servers = [_server(pgsolr_dsn), _server(pgsolr_dsn, docsets_min_matches=1)]
    url = f"{servers[0].url}/fuzz_select"
    solr = pysolr.Solr(url, always_commit=True)
    solr.delete(q="*:*")
    rnd = random.Random(12)
    solr.add([make_doc(i, rnd) for i in range(DOCS)])
    yield [url, f"{servers[1].url}/fuzz_select"]
    solr.delete(q="*:*")
    for server in servers:
        server.stop()


# -- the grammar ----------------------------------------------------------------------------

FIELDS = ["text", "title", "notes", "name", "tags", "res_format", "organization", "capacity",
          "title_ngram", "name_ngram", "metadata_modified", "metadata_created", "num_resources",
          "views_total", "minx", "maxx", "bbox_area", "extras_spatial_text", "vocab_theme",
          "res_extras_x", "some_date", "site_id", "data_dict", "permission_labels", "id",
          "nofield", "*", "_docid_", "score"]
WORDS = ["park", "Hotspot", "gelsenkirchen", "Straße", "Ückendorf", "umwelt", "CSV", "1",
         "-1.5", "1e308", "NOW", "a", "ab", "AND", "OR", "NOT", "TO", "*", "?", "glas*",
         "*ark", "p?rk", "\\*", "\\:", "b\\ c", "2024", "true", "'", '\\"', "%", "_"]
DATES = ["NOW", "NOW/DAY", "NOW-7DAYS", "NOW+1YEAR/DAY", "NOW/MONTH-1HOUR",
         "2024-01-01T00:00:00Z", "2024-01-31T00:00:00Z+1MONTH", "0001-01-01T00:00:00Z",
         "9999-12-31T23:59:59Z", "2024-02-30T00:00:00Z", "2024-01-01T00:00:00+01:00",
         "NOW-99999999YEARS", "NOW/FORTNIGHT", "2024-01-01"]
NUMBERS = ["0", "1", "-1", "0.5", "2", "1e308", "-1e308", "1e-320", "1e999", "-0", "7.05",
           "51.5", "9223372036854775808", "3.4e38"]
TZS = ["Europe/Berlin", "America/New_York", "UTC", "GMT+01:00", "GMT-12", "GMT+99",
       "Etc/GMT+5", "Mars/Olympus", "../../etc/passwd", "zone.tab", "", "posixrules"]

junk = st.text(max_size=30)
field = st.one_of(st.sampled_from(FIELDS), st.from_regex(r"[a-z_]{1,12}", fullmatch=True))
word = st.one_of(st.sampled_from(WORDS), st.from_regex(r"[\w*?.\-]{1,12}", fullmatch=True),
                 st.text(max_size=6))
number = st.one_of(st.sampled_from(NUMBERS), st.floats(allow_nan=True).map(repr),
                   st.integers().map(str))
bound = st.one_of(st.just("*"), number, st.sampled_from(DATES).map(lambda d: f'"{d}"'), word)


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


leaf = st.one_of(
    word,
    st.builds(lambda f, w: f"{f}:{w}", field, word),
    st.builds(lambda f, t: f"{f}:{_quoted(t)}", field, st.text(max_size=20)),
    st.builds(lambda f, a, b, lo, hi: f"{f}:{a}{lo} TO {hi}{b}", field,
              st.sampled_from("[{"), st.sampled_from("]}"), bound, bound),
    st.builds(lambda f, r: f"{f}:/{r}/", field,
              st.one_of(st.sampled_from([".*", "a.*b", "(a|b)*", "[a-z]+", "a{2,3}", "\\d",
                                         "(", "a{1000}{1000}", ".*(.*a){20}"]),
                        st.text(alphabet="ab().*+?|[]{}\\^$", max_size=12))),
    st.builds(lambda w, n: f"{w}^{n}", word, number),
    st.builds(lambda w, n: f"{w}~{n}", word, st.sampled_from(["", "1", "2", "0.5", "x"])),
)
lucene = st.recursive(
    leaf,
    lambda inner: st.one_of(
        st.lists(inner, min_size=2, max_size=4).map(" ".join),
        st.builds(lambda a, op, b: f"{a} {op} {b}", inner,
                  st.sampled_from(["AND", "OR", "&&", "||", "AND NOT"]), inner),
        inner.map(lambda q: f"({q})"),
        st.builds(lambda p, q: p + q, st.sampled_from(["+", "-", "NOT ", "!"]), inner),
        st.builds(lambda f, q: f"{f}:({q})", field, inner),
    ),
    max_leaves=12,
)
func = st.recursive(
    st.one_of(number, st.sampled_from(["minx", "maxx", "miny", "maxy", "bbox_area",
                                       "num_resources", "views_total", "title", "tags",
                                       "nofield", "nan", "inf"])),
    lambda inner: st.builds(
        lambda name, args: f"{name}({','.join(args)})",
        st.sampled_from(["add", "sum", "sub", "mul", "product", "div", "max", "min", "abs",
                         "sqrt", "pow", "linear", "recip", "field", "def", "log", "ms"]),
        st.lists(inner, max_size=4)),
    max_leaves=16,
)


# near and beyond the limits: deep nesting, many clauses, long patterns
deep_func = st.builds(lambda fn, n: fn.format("minx") if n == 0 else
                      (fn.split("{}")[0] * n) + "minx" + (fn.split("{}")[1] * n),
                      st.sampled_from(["sqrt({})", "div(1,{})", "recip({},1,1,1)", "abs({})"]),
                      st.integers(min_value=0, max_value=60))
stress = st.one_of(
    st.integers(min_value=0, max_value=130).map(lambda n: "(" * n + "park" + ")" * n),
    st.integers(min_value=0, max_value=130).map(lambda n: "NOT " * n + "park"),
    st.integers(min_value=0, max_value=1100).map(lambda n: " ".join(["w"] * n)),
    st.integers(min_value=0, max_value=300).map(lambda n: "title:*" + "a" * n),
    st.integers(min_value=0, max_value=6).map(lambda n: " OR ".join(["text:*e*"] * n)),
    deep_func.map(lambda f: "{!func}" + f),
)


def _local(pairs: list[tuple[str, str]]) -> str:
    return "{!" + " ".join(f"{k}={_quoted(v)}" if v else k for k, v in pairs) + "}"


query = st.one_of(
    lucene,
    junk,
    stress,
    st.builds(lambda lo, hi, incl, f: f"{{!frange l={lo} u={hi} incl={incl}}}{f}",
              number, number, st.sampled_from(["true", "false"]), func),
    func.map(lambda f: "{!func}" + f),
    st.builds(lambda t, f, v: f"{{!{t} f={f}}}{v}",
              st.sampled_from(["field", "term", "prefix", "raw"]), field, word),
    st.builds(lambda qf, q: f"{{!dismax qf={_quoted(qf)}}}{q}", field, lucene),
    st.builds(lambda clauses: _local([("type", "bool")] + clauses),
              st.lists(st.tuples(st.sampled_from(["must", "should", "must_not", "filter",
                                                  "x"]), lucene), max_size=3)),
    st.builds(lambda t, q: f"{{!{t}}}{q}",
              st.sampled_from(["lucene", "edismax", "knn", "tag=x", "nosuch", "type=func"]),
              lucene),
)
sort = st.one_of(
    st.lists(st.builds(lambda f, d: f"{f} {d}", field,
                       st.sampled_from(["asc", "desc", "ASC", "sideways", ""])),
             max_size=3).map(", ".join),
    junk,
)
fl = st.one_of(st.lists(st.one_of(field, st.sampled_from(["*", "score", "ti*", "?d", "[x"])),
                        max_size=4).map(",".join), junk)
qf = st.lists(st.builds(lambda f, b: f"{f}^{b}" if b else f, field,
                        st.one_of(st.just(""), number)), max_size=4).map(" ".join)
mm = st.one_of(st.sampled_from(["2<-1 5<80%", "75%", "-1", "3", "100%", "0%", "inf%",
                                "nan%", "2<", "<", "1<-1 x<2", "-50%"]), junk)
int_text = st.one_of(st.integers(min_value=-5, max_value=100).map(str),
                     st.sampled_from(["-1", "2147483647", "2147483648", "99999999999999999999",
                                      "1e3", "", " 3", "x"]))
facet_field = st.one_of(field, st.builds(lambda k, f: f"{{!key={k}}}{f}", word, field),
                        st.builds(lambda f: f"{{!ex=t}}{f}", field))

OPTIONAL: dict[str, Any] = {
    "fq": st.lists(query, max_size=3),
    "defType": st.sampled_from(["lucene", "dismax", "edismax", "func", "frange", "nosuch"]),
    "qf": qf, "mm": mm, "pf": qf,
    "tie": st.one_of(number, junk), "q.op": st.sampled_from(["AND", "OR", "xor"]),
    "df": field, "q.alt": query,
    "bf": st.lists(st.one_of(func, st.builds(lambda f, b: f"{f}^{b}", func, number), junk,
                             deep_func), max_size=2),
    "boost": st.lists(st.one_of(func, junk, deep_func), max_size=2),
    "sort": sort, "fl": fl, "start": int_text, "rows": int_text,
    "TZ": st.one_of(st.sampled_from(TZS), junk),
    "facet": st.sampled_from(["true", "false", "on", "x"]),
    "facet.field": st.lists(facet_field, max_size=3),
    "facet.query": st.lists(query, max_size=2),
    "facet.limit": int_text, "facet.mincount": int_text, "facet.offset": int_text,
    "facet.sort": st.sampled_from(["count", "index", "lex", "true", "false", "x"]),
    "facet.prefix": word, "facet.missing": st.sampled_from(["true", "false"]),
    "f.tags.facet.limit": int_text, "f.res_format.facet.prefix": word,
    "wt": st.sampled_from(["json", "python", "xml"]),
}


@st.composite
def param_sets(draw: Any) -> list[tuple[str, str]]:
    params = [("q", draw(query))]
    for key in draw(st.lists(st.sampled_from(sorted(OPTIONAL)), max_size=7, unique=True)):
        value = draw(OPTIONAL[key])
        params.extend((key, v) for v in (value if isinstance(value, list) else [value]))
    return params


# -- the property ---------------------------------------------------------------------------

STATS: Counter[str] = Counter()
STARTED = time.monotonic()


def _check(url: str, params: list[tuple[str, str]]) -> None:
    _Meter.reset()
    t0 = time.monotonic()
    r = requests.post(url + "/select", data=[(k, v.encode("utf-8", "surrogatepass"))
                                             for k, v in params], timeout=TIME_BUDGET * 4)
    seconds = time.monotonic() - t0
    STATS[str(r.status_code)] += 1
    STATS["requests"] += 1
    assert seconds < TIME_BUDGET, (seconds, params)
    assert r.status_code in (200, 400), (r.status_code, r.text[:500], params)
    body = r.json()
    header = body["responseHeader"]
    if r.status_code == 400:
        assert header["status"] == 400
        assert body["error"]["code"] == 400 and isinstance(body["error"]["msg"], str)
        assert body["error"]["msg"] and "Traceback" not in r.text
    else:
        assert header["status"] == 0
        response = body["response"]
        assert isinstance(response["numFound"], int) and 0 <= response["numFound"] <= DOCS
        assert isinstance(response["docs"], list) and len(response["docs"]) <= response["numFound"]
        if "facet_counts" in body:
            for counts in body["facet_counts"]["facet_fields"].values():
                assert isinstance(counts, list) and len(counts) % 2 == 0
    size = sum(len(k) + len(v) for k, v in params)
    assert _Meter.longest > 0 or r.status_code == 400      # the meter sees the SQL
    STATS["longest SQL"] = max(STATS["longest SQL"], _Meter.longest)
    assert _Meter.longest <= SQL_BASE + SQL_PER_CHAR * size, (_Meter.longest, size, params)


FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES, deadline=None, database=None, derandomize=not LONG_RUN,
    suppress_health_check=list(HealthCheck), print_blob=True)


@FUZZ_SETTINGS
@given(params=param_sets(), which=st.integers(min_value=0, max_value=1))
def test_select_parameters(fuzz_cores: list[str], params: list[tuple[str, str]],
                           which: int) -> None:
    _check(fuzz_cores[which], params)


def teardown_module() -> None:
    if STATS:
        print(f"\npgsolr fuzz: {STATS['requests']} parameter sets tried in "
              f"{time.monotonic() - STARTED:.0f} s, answers "
              + ", ".join(f"{k}: {v}" for k, v in sorted(STATS.items()) if k != "requests"))
