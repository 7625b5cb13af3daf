"""Solr's dismax and edismax query parsers: the words of ``q`` searched in
the ``qf`` fields, at least ``mm`` of the optional clauses matching."""
from __future__ import annotations

import math
import re
from typing import TYPE_CHECKING, Any

from luqum import tree

from .errors import SolrError, bad_request
from .frags import MATCH_ALL, MATCH_NONE, MUST, SHOULD, Frag, _and, _at_least, _or

if TYPE_CHECKING:
    from .query import Compiler


def min_should_match(spec: str | None, n: int) -> int:
    """Solr's mm syntax: '2<-1 5<80%', '75%', '-1', '3'."""
    if n == 0:
        return 0
    spec = (spec or "").strip()
    if not spec:
        return n

    def apply(s: str) -> int:
        s = s.strip()
        try:
            if s.endswith("%"):
                pct = float(s[:-1])
                val = math.floor(n * abs(pct) / 100)
                return n - val if pct < 0 else val
            val = int(s)
        except (ValueError, OverflowError):
            raise bad_request(f"Invalid 'mm' parameter: {spec}") from None
        return n + val if val < 0 else val

    if "<" in spec:
        result = n
        for cond in spec.split():
            if "<" not in cond:
                raise bad_request(f"Invalid 'mm' parameter: {spec}")
            limit, s = cond.split("<", 1)
            try:
                if n > int(limit):
                    result = apply(s)
            except ValueError:
                raise bad_request(f"Invalid 'mm' parameter: {spec}") from None
        k = result
    else:
        k = apply(spec)
    return max(0, min(n, k))


def _finite(value: str, what: str) -> float:
    try:
        number = float(value)
    except ValueError:
        number = math.nan
    if not math.isfinite(number):
        raise bad_request(f"Invalid {what}: {value}")
    return number


def compile_dismax(compiler: Compiler, text: str, params: dict[str, Any], edismax: bool) -> Frag:  # noqa: C901 - qf/pf/mm handling; to split
    """``text`` as Solr's dismax (or edismax) parser reads it. Sets the
    compiler's default fields, tie and q.op: its clauses are compiled by
    the Lucene compiler with them."""
    qf = params.get("qf") or params.get("df") or "text"
    fields = []
    for part in str(qf).split():
        name, _, boost = part.partition("^")
        compiler._field(name)
        fields.append((name, _finite(boost, "boost in qf") if boost else 1.0))
    compiler.default_fields = fields
    compiler.tie = _finite(str(params.get("tie") or 0.0), "'tie' parameter")
    compiler.q_op = (params.get("q.op") or "OR").upper()
    text = text.strip()
    if not text:
        text = params.get("q.alt") or ""
        if not text:
            return MATCH_NONE
        return compiler.lucene(text, params)
    try:
        node = compiler._parse(text)
    except SolrError:
        # like Solr's dismax, never fail on syntax: use the plain words
        if True:
            words = re.sub(r'[+\-&|!(){}\[\]^"~*?:\\/]', " ", text).split()
            if not words:
                return MATCH_NONE
            node = tree.UnknownOperation(*[tree.Word(w) for w in words]) \
                if len(words) > 1 else tree.Word(words[0])
    compiler._prefetch(node)
    if isinstance(node, tree.SearchField) and node.name == "*" and \
            isinstance(node.expr, tree.Word) and node.expr.value == "*":
        return MATCH_ALL
    # top level: clauses with mm
    if isinstance(node, tree.UnknownOperation) and edismax and compiler.q_op == "AND":
        # Solr's edismax: q.op=AND makes every bare clause required, and
        # mm (which only counts optional clauses) then has no effect.
        # CKAN always sends q.op=AND; dismax ignores q.op.
        operands = list(node.operands)
        default = MUST
    elif isinstance(node, (tree.UnknownOperation, tree.OrOperation)):
        operands = list(node.operands)
        default = SHOULD
    elif isinstance(node, tree.AndOperation):
        operands = list(node.operands)
        default = MUST
    else:
        operands = [node]
        default = SHOULD
    musts, shoulds, nots = compiler._clauses(operands, default)
    mm = params.get("mm")
    if mm is None:
        mm = "100%" if compiler.q_op == "AND" else "0%"
    if isinstance(node, tree.OrOperation):
        mm = "1"
    k = min_should_match(str(mm), len(shoulds))
    if not musts and shoulds:
        k = max(k, 1)
    if k > 0 and shoulds:
        musts = musts + [_at_least(shoulds, k)]
    elif shoulds:
        # optional clauses only add to the score
        opt = _or(shoulds)
        if musts:
            base = _and(musts, nots)
            return Frag(base.sql, base.params,
                        f"({base.score}) + (CASE WHEN {opt.sql} THEN {opt.score} ELSE 0 END)",
                        base.score_params + opt.params + opt.score_params)
    return _and(musts, nots)
