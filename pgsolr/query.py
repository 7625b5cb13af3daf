"""Lucene queries (parsed by luqum) -> SQL, and the entry point of every
query parser pgsolr supports.

A compiled query is a :class:`Frag` (frags.py). All values travel as bound
parameters; field names are checked against the schema first. dismax and
edismax live in dismax.py, local params in local_params.py, the limits of a
request in limits.py.
"""
from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Iterable
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

from luqum import tree
from luqum.exceptions import ParseError
from luqum.thread import parse as luqum_parse

from . import dates
from .analysis import Analyzer, exact_lexeme, fold, ngram_query_tokens, quote_lexeme, tokens_tsquery
from .dismax import compile_dismax
from .errors import bad_request, syntax_error
from .frags import (
    MATCH_ALL,
    MATCH_NONE,
    MUST,
    MUST_NOT,
    SHOULD,
    Frag,
    _boolean,
    _boost,
    _or,
    _sql_frag,
    _ts_frag,
)
from .functions import compile_function, overlap_prefilter
from .limits import MAX_QUERY_LEN, Budget, _check_nesting
from .local_params import (
    PARSER_PARAMS,
    SOLR_ONLY_PARSERS,
    check_local_params,
    parse_local_params,
    parse_local_params_list,
)
from .schema import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    NUMERIC,
    STRING,
    Field,
    Schema,
    indexed_number,
    require_supported,
)

# parsed query texts kept (texts up to PARSE_CACHE_LEN characters)
PARSE_CACHE_SIZE = 2048
PARSE_CACHE_LEN = 2000


def _unescape(value: str) -> str:
    return re.sub(r"\\(.)", r"\1", value)


def _has_wildcard(value: str) -> bool:
    escaped = False
    for c in value:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif c in "*?":
            return True
    return False


def _like_pattern(value: str) -> str:
    """Lucene wildcard (escapes kept) -> SQL LIKE pattern (escape char \\)."""
    out = []
    escaped = False
    for c in value:
        if escaped:
            out.append("\\" + c if c in "%_\\" else c)
            escaped = False
        elif c == "\\":
            escaped = True
        elif c == "*":
            out.append("%")
        elif c == "?":
            out.append("_")
        elif c in "%_":
            out.append("\\" + c)
        else:
            out.append(c)
    return "".join(out)


def _term_text(item: tree.Item) -> str:
    if isinstance(item, tree.Phrase):
        return _unescape(item.value[1:-1])
    if isinstance(item, tree.Term):
        return _unescape(item.value)
    raise syntax_error(f"Unexpected term {item}")



def _parse_text(text: str) -> tree.Item:
    try:
        node = luqum_parse(text)
    except ParseError as exc:
        raise syntax_error(f"Cannot parse '{text}': {exc}") from None
    except Exception as exc:  # PLY raises assorted errors on odd input
        raise syntax_error(f"Cannot parse '{text}': {type(exc).__name__}") from None
    _check_nesting(node, text)
    return node


# Parsed queries by their text: CKAN sends the same fq list with every
# request, and a parse costs ~0.2 ms. The compiler never changes a tree.
_parse_cached = functools.lru_cache(maxsize=PARSE_CACHE_SIZE)(_parse_text)



_OPERATIONS = (tree.AndOperation, tree.OrOperation, tree.UnknownOperation)


def _flatten(n: tree.Item, conj: str, out: list[tuple[str, tree.Item]]) -> None:
    """The clauses of an AND/OR operation in order, each with the conjunction
    before it ("AND", "OR" or "" for none): luqum nests operations by
    precedence, Lucene's parser sees one flat list (parentheses are Group
    nodes and stay one clause)."""
    if isinstance(n, _OPERATIONS):
        kind = "AND" if isinstance(n, tree.AndOperation) else \
            "OR" if isinstance(n, tree.OrOperation) else ""
        for i, op in enumerate(n.operands):
            _flatten(op, conj if i == 0 else kind, out)
    else:
        out.append((conj, n))


class Compiler:
    """Compiles query strings for one request (not shared across threads)."""

    def __init__(self, schema: Schema, analyzer: Analyzer, cur: Any,
                 now: datetime | None = None, tz: tzinfo = UTC,
                 budget: Budget | None = None):
        self.schema = schema
        self.analyzer = analyzer
        self.cur = cur
        self.now = now or datetime.now(UTC)
        self.tz = tz
        self.budget = budget or Budget()
        self._tokens: dict[str, Any] = {}

    # -- entry points -----------------------------------------------------
    def compile(self, text: str, params: dict[str, Any], *, is_filter: bool = False) -> Frag:
        """Compile q or an fq, honouring local params and defType."""
        if len(text) > MAX_QUERY_LEN:
            raise bad_request("query too long")
        local, rest = parse_local_params(text)
        merged = dict(params)
        merged.update(local)
        rest = local.get("v", rest)
        qtype = local.get("type") or ("lucene" if (is_filter or local) else
                                      params.get("defType") or "lucene")
        if qtype in PARSER_PARAMS:
            check_local_params(qtype, local)
        if qtype == "frange":
            return self.frange(rest, local)
        if qtype == "func":
            sql, prm = compile_function(rest, self.schema)
            return Frag("TRUE", [], f"COALESCE({sql}, 0)", prm, match_all=True)
        if qtype in ("field", "term", "prefix", "raw"):
            fname = local.get("f", "")
            fld = self._field(fname)
            value = rest
            if qtype == "prefix":
                return self.wildcard(fld, _like_pattern(re.sub(r"([\\*?])", r"\\\1", value)) + "%", value)
            if qtype == "field" and fld.is_text:
                return self.text_term(fld, value, phrase=True) or MATCH_NONE
            return self.exact(fld, value)
        if qtype in ("dismax", "edismax"):
            return compile_dismax(self, rest, merged, edismax=(qtype == "edismax"))
        if qtype in ("lucene", "standard"):
            return self.lucene(rest, merged)
        if qtype == "bool":
            return self.bool_query(parse_local_params_list(text)[0], params)
        if qtype == "knn":
            raise bad_request("pgsolr does not support the knn query parser (no dense vector fields)")
        if qtype in SOLR_ONLY_PARSERS:
            raise bad_request(f"pgsolr does not support the {qtype} query parser; Apache Solr does")
        raise bad_request(f"Unknown query parser '{qtype}'")

    def bool_query(self, pairs: list[tuple[str, str]], params: dict[str, Any]) -> Frag:
        """Solr's BoolQParser: ``must``, ``should``, ``must_not`` and ``filter``
        (each may repeat) hold sub-queries parsed as lucene, or with their own
        ``{!...}`` local params. ``filter`` must match but does not score; a
        query with only must_not clauses means everything except them."""
        groups: dict[str, list[Frag]] = {"must": [], "should": [], "must_not": [], "filter": []}
        for key, value in pairs:
            if key not in groups or not value.strip():
                continue
            sub = Compiler(self.schema, self.analyzer, self.cur, self.now, self.tz, self.budget)
            sub._tokens = self._tokens
            groups[key].append(sub.compile(value, params, is_filter=True))
        filters = [replace(f, score="0", score_params=[]) for f in groups["filter"]]
        musts = groups["must"] + filters
        shoulds, nots = groups["should"], groups["must_not"]
        if musts or shoulds or nots:
            return _boolean(musts, shoulds, nots)
        return MATCH_NONE

    def lucene(self, text: str, params: dict[str, Any]) -> Frag:
        if not text.strip():
            return MATCH_NONE
        df = params.get("df") or "text"
        self.default_fields = [(df, 1.0)]
        self.tie = 0.0
        self.q_op = (params.get("q.op") or "OR").upper()
        node = self._parse(text)
        self._prefetch(node)
        # None: no term left after analysis (punctuation, control characters)
        return self.node(node, None) or MATCH_NONE


    def frange(self, func: str, local: dict[str, str]) -> Frag:
        sql, prm = compile_function(func, self.schema)
        conds, params = [], []
        for key, inc_key, op in (("l", "incl", ">"), ("u", "incu", "<")):
            if key in local and local[key] not in ("", "*"):
                try:
                    bound = float(local[key])
                except ValueError:
                    raise bad_request(f"Invalid frange bound {key}={local[key]}") from None
                inclusive = local.get(inc_key, "true").lower() != "false"
                conds.append(f"{sql} {op}{'=' if inclusive else ''} %s")
                params.extend(prm + [bound])
        if not conds:
            conds, params = [f"{sql} IS NOT NULL"], list(prm)
        cond = "COALESCE(" + " AND ".join(conds) + ", FALSE)"
        low = local.get("l", "")
        if low not in ("", "*") and (float(low) > 0 or local.get("incl", "true").lower() == "false") \
                and float(low) >= 0:
            pre = overlap_prefilter(func, self.schema)
            if pre is not None:
                cond = f"({pre[0]} AND {cond})"
                params = pre[1] + params
        return Frag(cond, params, f"COALESCE({sql}, 0)", list(prm))

    # -- tree walking -------------------------------------------------------
    @staticmethod
    def _parse(text: str) -> tree.Item:
        if len(text) <= PARSE_CACHE_LEN:
            return _parse_cached(text)
        return _parse_text(text)

    def _prefetch(self, node: tree.Item) -> None:
        """Analyse all free-text terms of the query in one round trip."""
        texts: list[str] = []

        def walk(n: tree.Item, fname: str | None) -> None:
            if isinstance(n, tree.SearchField):
                fname = n.name
            if isinstance(n, (tree.Word, tree.Phrase)):
                if isinstance(n, tree.Phrase) or not _has_wildcard(n.value):
                    names = [fname] if fname else [f for f, _ in self.default_fields]
                    for name in names:
                        fld = self.schema.field(name)
                        if fld is not None and fld.is_text and fld.ngram is None:
                            texts.append(_term_text(n))
                            break
                return
            if isinstance(n, tree.Range):
                return
            for child in n.children:
                walk(child, fname)

        walk(node, None)
        if texts:
            self._tokens.update(self.analyzer.analyse(self.cur, texts))

    def _field(self, name: str) -> Field:
        fld = self.schema.field(name)
        if fld is None:
            raise bad_request(f"undefined field {name}")
        return require_supported(fld)

    def _clauses(self, operands: Iterable[tree.Item], default: str,
                 fname: str | None = None) -> tuple[list[Frag], list[Frag], list[Frag]]:
        musts: list[Frag] = []
        shoulds: list[Frag] = []
        nots: list[Frag] = []
        for op in operands:
            occur = default
            while isinstance(op, (tree.Plus, tree.Not, tree.Prohibit)):
                occur = MUST if isinstance(op, tree.Plus) else MUST_NOT
                op = op.a
            frag = self.node(op, fname)
            if frag is None:
                continue
            {MUST: musts, SHOULD: shoulds, MUST_NOT: nots}[occur].append(frag)
        return musts, shoulds, nots

    def _lucene_bool(self, n: tree.Item, fname: str | None) -> Frag:
        """AND/OR as Lucene's classic query parser reads them: without
        precedence, left to right (QueryParserBase.addClause). ``a OR b AND c``
        is ``a +b +c``, where luqum's tree says ``a OR (b AND c)``."""
        flat: list[tuple[str, tree.Item]] = []
        _flatten(n, "", flat)
        occurs: list[str] = []
        for conj, op in flat:
            mods = "+" if isinstance(op, tree.Plus) else \
                "-" if isinstance(op, (tree.Not, tree.Prohibit)) else ""
            if occurs and occurs[-1] != MUST_NOT:
                if conj == "AND":
                    occurs[-1] = MUST
                elif conj == "OR" and self.q_op == "AND":
                    occurs[-1] = SHOULD
            if mods == "-":
                occurs.append(MUST_NOT)
            elif self.q_op == "AND":
                occurs.append(MUST if conj != "OR" else SHOULD)
            else:
                occurs.append(MUST if mods == "+" or conj == "AND" else SHOULD)
        groups: dict[str, list[Frag]] = {MUST: [], SHOULD: [], MUST_NOT: []}
        for (_, op), occur in zip(flat, occurs, strict=True):
            while isinstance(op, (tree.Plus, tree.Not, tree.Prohibit)):
                op = op.a
            frag = self.node(op, fname)
            if frag is not None:
                groups[occur].append(frag)
        return _boolean(groups[MUST], groups[SHOULD], groups[MUST_NOT])

    def _bool(self, operands: Iterable[tree.Item], default: str, fname: str | None) -> Frag:
        return _boolean(*self._clauses(operands, default, fname))

    def node(self, n: tree.Item, fname: str | None) -> Frag | None:  # noqa: C901 - one branch per luqum node type; to become a dispatch table
        if isinstance(n, (tree.Group, tree.FieldGroup)):
            return self.node(n.expr, fname)
        if isinstance(n, tree.SearchField):
            if fname is not None and n.name != fname:
                raise syntax_error(f"Nested field '{n.name}' inside field '{fname}'")
            if n.name == "*":
                if isinstance(n.expr, tree.Word) and n.expr.value == "*":
                    return MATCH_ALL
                raise bad_request("undefined field *")
            self._field(n.name)
            return self.node(n.expr, n.name)
        if isinstance(n, _OPERATIONS):
            return self._lucene_bool(n, fname)
        if isinstance(n, (tree.Plus, tree.Not, tree.Prohibit)):
            return self._bool([n], SHOULD, fname)
        if isinstance(n, tree.Boost):
            inner = self.node(n.expr, fname)
            return None if inner is None else _boost(inner, float(n.force))
        if isinstance(n, tree.Proximity):
            return self.term(n.term, fname, slop=True)
        if isinstance(n, tree.Fuzzy):
            return self.term(n.term, fname)
        if isinstance(n, (tree.Range, tree.From, tree.To)):
            if fname is None:
                fname = self.default_fields[0][0]
            return self.range(self._field(fname), n)
        if isinstance(n, tree.Regex):
            if fname is None:
                fname = self.default_fields[0][0]
            return self.regex(self._field(fname), n.value[1:-1])
        if isinstance(n, (tree.Word, tree.Phrase)):
            return self.term(n, fname)
        raise syntax_error(f"Unsupported query element '{n}'")

    # -- leaves ----------------------------------------------------------
    def term(self, n: tree.Item, fname: str | None, slop: bool = False) -> Frag | None:
        if fname is not None:
            return self.field_term(self._field(fname), n, slop)
        # unfielded: disjunction over the default fields (dismax: qf)
        frags: list[tuple[Frag, float]] = []
        for name, boost in self.default_fields:
            f = self.field_term(self._field(name), n, slop)
            if f is not None:
                frags.append((f, boost))
        if not frags:
            return None
        if len(frags) == 1:
            return _boost(frags[0][0], frags[0][1])
        where = _or([f for f, _ in frags])
        scores = [f"({f.score}) * {float(b)!r}" for f, b in frags]
        sparams = [p for f, _ in frags for p in f.score_params]
        tie = self.tie
        score = f"(GREATEST({', '.join(scores)}) * {1 - tie!r} + ({' + '.join(scores)}) * {tie!r})"
        return replace(where, score=score, score_params=sparams + sparams)

    def field_term(self, fld: Field, n: tree.Item, slop: bool = False) -> Frag | None:
        self.budget.clause()
        if not fld.indexed:
            raise bad_request(f"can not search on field {fld.name} which is not indexed")
        if isinstance(n, tree.Word):
            if n.value == "*":
                return self.exists(fld)
            if _has_wildcard(n.value):
                return self.wildcard(fld, _like_pattern(n.value), _unescape(n.value))
        value = _term_text(n)
        if fld.is_text:
            return self.text_term(fld, value, phrase=True, slop=slop)
        return self.exact(fld, value)

    def exists(self, fld: Field) -> Frag:
        if fld.kind == STRING:
            return _ts_frag(quote_lexeme(f"={fld.name}:") + ":*", text=False,
                            contains={"_has": [fld.name]})
        return _sql_frag("idx @> %s::jsonb", [json.dumps({"_has": [fld.name]})])

    def ngram_term(self, fld: Field, value: str) -> Frag | None:
        """An n-gram field: every query token must be a gram of the value,
        i.e. a prefix of one of its stored windows (see ngram_windows)."""
        assert fld.ngram is not None
        tokens = ngram_query_tokens(fld.ngram, value)
        if tokens is None:
            return MATCH_NONE
        if not tokens:
            return None
        unique = list(dict.fromkeys(tokens))
        q = " & ".join(quote_lexeme(f"{fld.name}:{t}") + ":*" for t in unique)
        return _ts_frag(q if len(unique) == 1 else f"({q})")

    def text_term(self, fld: Field, value: str, phrase: bool = True, slop: bool = False) -> Frag | None:
        if fld.ngram is not None:
            return self.ngram_term(fld, value)
        tokens = self._tokens.get(value)
        if tokens is None:
            tokens = self.analyzer.analyse(self.cur, [value])[value]
            self._tokens[value] = tokens
        q: str | None
        if slop and tokens:
            q = " & ".join(tokens_tsquery(fld.name, [t]) or "" for t in tokens)
        else:
            q = tokens_tsquery(fld.name, tokens)
        if not q:
            return None
        return _ts_frag(q)

    def typed_value(self, fld: Field, value: str) -> Any:
        """Query text -> the JSON value stored in ``idx`` for this field."""
        if fld.kind == INT or fld.kind == FLOAT:
            try:
                num = float(value) if fld.kind == FLOAT else int(value)
            except ValueError:
                try:
                    num = float(value)
                except ValueError:
                    raise bad_request(f"Invalid Number: {value}") from None
            if isinstance(num, float) and not math.isfinite(num):
                raise bad_request(f"Invalid Number: {value}")
            try:
                return indexed_number(fld, num) if isinstance(num, float) else num
            except OverflowError:
                return math.copysign(math.inf, num)   # Solr: Float.parseFloat gives Infinity
        if fld.kind == DATE:
            return dates.sortable(dates.parse_date_math(value, self.now, self.tz))
        if fld.kind == BOOL:
            return value.strip().lower() in ("true", "t", "1", "yes", "on")
        return value

    def exact(self, fld: Field, value: str) -> Frag:
        if fld.is_text:
            return self.text_term(fld, value) or MATCH_NONE
        typed = self.typed_value(fld, value)
        if fld.kind == STRING:
            lexeme = exact_lexeme(fld.name, typed)
            if lexeme is not None:
                return _ts_frag(quote_lexeme(lexeme), text=False,
                                contains={fld.name: [typed] if fld.multi else typed})
        doc = {fld.name: [typed] if fld.multi else typed}
        return _sql_frag("idx @> %s::jsonb", [json.dumps(doc)])

    def wildcard(self, fld: Field, pattern: str, raw: str) -> Frag:
        self.budget.pattern(raw)
        if fld.is_text:
            value = raw.lower()
            m = re.fullmatch(r"([^*?]+)\*", value)
            if m and "\\" not in value:
                prefix = m.group(1)
                variants = {prefix, fold(prefix)}
                q = " | ".join(quote_lexeme(f"{fld.name}:{p}") + ":*" for p in sorted(variants))
                return _ts_frag(q)
            self.budget.scan(raw, text=True)
            lexeme_like = f"{fld.name}:" .replace("\\", "\\\\").replace("%", "\\%") \
                .replace("_", "\\_") + _like_pattern(value)
            return _sql_frag("EXISTS (SELECT 1 FROM unnest(tsv) AS u WHERE u.lexeme LIKE %s)",
                             [lexeme_like])
        if fld.kind != STRING:
            raise bad_request(f"Can't run prefix queries on numeric fields: {fld.name}")
        m = re.fullmatch(r"([^*?\\]+)\*", raw)
        like = self._cmp(fld, [("{v} LIKE %s", [pattern])])
        if m and pattern.endswith("%") and exact_lexeme(fld.name, m.group(1)) is not None:
            return _ts_frag(quote_lexeme(f"={fld.name}:{m.group(1)}") + ":*",
                            (like.sql, like.params), text=False)
        self.budget.scan(raw, text=False)
        return like

    def regex(self, fld: Field, pattern: str) -> Frag:
        self.budget.clause()
        self.budget.pattern(pattern)
        self.budget.scan(f"/{pattern}/", text=fld.is_text)
        if fld.is_text:
            like = f"^{re.escape(fld.name)}:(?:{pattern})$"
            return _sql_frag("EXISTS (SELECT 1 FROM unnest(tsv) AS u WHERE u.lexeme ~ %s)", [like])
        return self._cmp(fld, [("{v} ~ %s", [f"^(?:{pattern})$"])])

    def _cmp(self, fld: Field, conds: list[tuple[str, list[Any]]]) -> Frag:
        """Conditions on a field's value(s); each template uses ``{v}`` once,
        before its own placeholders. Multi-valued: one value must satisfy all."""
        if fld.multi:
            expr = " AND ".join(c.replace("{v}", "e.v") for c, _ in conds)
            sql = ("EXISTS (SELECT 1 FROM jsonb_array_elements_text("  # noqa: S608 - fixed templates, values bound
                   "CASE WHEN jsonb_typeof(idx->%s) = 'array' THEN idx->%s ELSE '[]'::jsonb END)"
                   f" AS e(v) WHERE {expr})")
            return _sql_frag(sql, [fld.name, fld.name] + [p for _, ps in conds for p in ps])
        expr = " AND ".join(c.replace("{v}", "(idx->>%s)") for c, _ in conds)
        params: list[Any] = []
        for _, ps in conds:
            params.extend([fld.name] + ps)
        return _sql_frag(f"COALESCE({expr}, FALSE)", params)

    def range(self, fld: Field, n: tree.Item) -> Frag:
        self.budget.clause()
        if isinstance(n, tree.Range):
            low, high = n.low, n.high
            inc_low, inc_high = n.include_low, n.include_high
        elif isinstance(n, tree.From):
            low, high, inc_low, inc_high = n.a, None, n.include, True
        else:
            low, high, inc_low, inc_high = None, n.a, True, n.include
        lo = None if low is None or (isinstance(low, tree.Word) and low.value == "*") else _term_text(low)
        hi = None if high is None or (isinstance(high, tree.Word) and high.value == "*") else _term_text(high)
        if lo is None and hi is None:
            return self.exists(fld)
        if fld.is_text:
            raise bad_request(f"pgsolr does not support range queries on text field {fld.name}")
        conds: list[tuple[str, list[Any]]] = []
        for bound, op, inc in ((lo, ">", inc_low), (hi, "<", inc_high)):
            if bound is None:
                continue
            typed = self.typed_value(fld, bound)
            op += "=" if inc else ""
            if fld.kind in NUMERIC:
                conds.append((f"{{v}}::numeric {op} %s", [typed]))
            else:
                if isinstance(typed, bool):
                    typed = "true" if typed else "false"
                conds.append((f'{{v}} {op} %s COLLATE "C"', [typed]))
        return self._cmp(fld, conds)
