"""Relevance scores of free-text queries from the document sets.

A dismax/edismax score (dismax.py) is arithmetic over ``ts_rank(tsv, q)``
terms, one per query word and field. Computing it for every matching
document costs PostgreSQL a detoasted tsvector per document and a
``ts_rank`` per term (~170 ms for 6,000 matches at 10,000 documents).

For one core generation, the value of ``ts_rank(tsv, q)`` of one ``q`` over
the core's documents takes only a few distinct values (it depends on how
often, and with which weights, the lexemes occur), so it is kept like a
facet field: a bit set of document positions per value (docsets.py). A
query's matches are then split into classes of equal term values, the
score of each class is computed by PostgreSQL with the very expression the
SQL path evaluates (the ``ts_rank`` calls replaced by the class's values,
which are the same float4 numbers), and the page is taken class by class
in score order, ties in the cached sort order. Results are exactly those
of the SQL path.

Only terms whose tsquery is an OR of lexemes are kept this way: their
``ts_rank`` is 0 exactly for a document that does not match (an AND or
phrase query ranks 1e-20 there), so documents outside every class have 0.
"""
from __future__ import annotations

import heapq
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RANK_CALL = "ts_rank(tsv, %s::tsquery)"
# the rest of a score expression after its ts_rank calls are replaced:
# numbers, + * GREATEST ( ) , and numeric bound parameters
_ARITHMETIC = re.compile(r"(?:\s|\d|\.|[-+*(),]|GREATEST|::float8|%s|\ba\d+\b)*")
_QUOTED = re.compile(r"'(?:[^'\\]|\\.|'')*'")
# an OR of (prefix) lexemes once the quoted lexemes are taken out
_OR_ONLY = re.compile(r"[\s()|:*]*")
# values of one term, and splits of a query's matches by them, beyond which
# the SQL path computes the scores instead
MAX_CLASSES = 64
MAX_SPLITS = 20000


@dataclass
class Atomized:
    """A score expression with its ts_rank calls as columns a0, a1, ..."""
    template: str            # over columns a<i> of the term values
    params: list[Any]        # the expression's other (numeric) parameters
    terms: list[str]         # tsquery text of a<i>


def _or_of_lexemes(tsq: str) -> bool:
    return _OR_ONLY.fullmatch(_QUOTED.sub("", tsq)) is not None and "'" in tsq


def atomize(score_sql: str, score_params: list[Any]) -> Atomized | None:
    """The score as arithmetic over its ts_rank terms, or None when it
    depends on anything else (string matches, functions, AND/phrase terms)."""
    pieces = score_sql.split("%s")
    if len(pieces) - 1 != len(score_params) or "%%" in score_sql:
        return None
    out: list[str] = [pieces[0]]
    params: list[Any] = []
    terms: list[str] = []
    for piece, value in zip(pieces[1:], score_params, strict=True):
        if out[-1].endswith("ts_rank(tsv, ") and piece.startswith("::tsquery)"):
            if not isinstance(value, str) or not _or_of_lexemes(value):
                return None
            if value not in terms:
                terms.append(value)
            out[-1] = out[-1][:-len("ts_rank(tsv, ")]
            out.append(f"a{terms.index(value)}" + piece[len("::tsquery)"):])
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            return None
        params.append(value)
        out.append("%s" + piece)
    template = "".join(out)
    if not terms or _ARITHMETIC.fullmatch(template) is None:
        return None
    return Atomized(template, params, terms)


def term_sql(terms: list[str], delta: bool) -> tuple[str, list[Any]]:
    """seq and ts_rank(tsv, term)::float8 of each term for the documents
    matching any term (or, ``delta``, every document after a seq); tsv
    detoasted once per row. Parameters: terms, then core (and seq)."""
    ranks = ", ".join("ts_rank(t, %s::tsquery)::float8" for _ in terms)
    where = "seq > %s" if delta else "tsv @@ %s::tsquery"
    sql = (f"SELECT seq, {ranks} FROM (SELECT seq, tsv || ''::tsvector AS t "  # noqa: S608 - fixed template
           f"FROM pgsolr_doc WHERE core = %s AND {where} OFFSET 0) AS d")
    return sql, list(terms)


def any_term(terms: list[str]) -> str:
    return " | ".join(f"({t})" for t in terms)


def classes_from_rows(rows: list[Any], column: int, pos: dict[int, int],
                      mask: Any) -> dict[float, int] | None:
    """{value: bit set} of one term column of term_sql's rows (0 omitted);
    None with more than MAX_CLASSES values."""
    grouped: dict[float, list[int]] = {}
    for row in rows:
        value = row[column]
        if value:
            grouped.setdefault(value, []).append(pos[row[0]])
    if len(grouped) > MAX_CLASSES:
        return None
    return {v: mask(ps) for v, ps in grouped.items()}


def split(match: int, classes: list[dict[float, int]]) -> dict[tuple[float, ...], int] | None:
    """The matches split by the values of every term: {values: bit set};
    None beyond MAX_SPLITS bit set operations."""
    parts: list[tuple[tuple[float, ...], int]] = [((), match)]
    work = 0
    for term in classes:
        union = 0
        for m in term.values():
            union |= m
        new: list[tuple[tuple[float, ...], int]] = []
        for values, mask in parts:
            rest = mask
            if mask & union:
                work += len(term)
                for value, m in term.items():
                    hit = mask & m
                    if hit:
                        new.append((values + (value,), hit))
                        rest &= ~m
            if rest:
                new.append((values + (0.0,), rest))
        parts = new
        if work > MAX_SPLITS:
            return None
    return dict(parts)


# (expression, parameters, term values) -> score: the same arithmetic on the
# same numbers, so kept across requests (cleared when full)
_SCORES: dict[tuple[str, tuple[Any, ...], tuple[float, ...]], float] = {}
MAX_SCORES = 100_000


def class_scores(cur: Any, atomized: Atomized,
                 parts: dict[tuple[float, ...], int]) -> dict[tuple[float, ...], float]:
    """Each class's score, evaluated by PostgreSQL with the SQL path's
    expression; the term values go in as the float4 numbers ts_rank gave."""
    expr = (atomized.template, tuple(atomized.params))
    out: dict[tuple[float, ...], float] = {}
    for values in parts:
        hit = _SCORES.get((expr[0], expr[1], values))
        if hit is not None:
            out[values] = hit
    keys = [v for v in parts if v not in out]
    if not keys:
        return out
    if len(_SCORES) + len(keys) > MAX_SCORES:
        _SCORES.clear()
    n = len(atomized.terms)
    row = "(" + ", ".join(["%s::int"] + ["%s::float8::real"] * n) + ")"
    cols = ", ".join(["k"] + [f"a{i}" for i in range(n)])
    params: list[Any] = list(atomized.params)
    for k, values in enumerate(keys):
        params.append(k)
        params.extend(values)
    cur.execute(f"SELECT k, ({atomized.template})::float8 FROM (VALUES "  # noqa: S608 - checked arithmetic over generated column names
                + ", ".join([row] * len(keys)) + f") AS v({cols})", params)
    for k, score in cur.fetchall():
        out[keys[k]] = score
        _SCORES[(expr[0], expr[1], keys[k])] = score
    return out


def ranked(parts: dict[tuple[float, ...], int], scores: dict[tuple[float, ...], float],
           desc: bool) -> list[tuple[float, int]]:
    """(score, bit set) of the distinct scores, best first."""
    by_score: dict[float, int] = {}
    for values, mask in parts.items():
        s = scores[values]
        by_score[s] = by_score.get(s, 0) | mask
    return sorted(by_score.items(), key=lambda sm: sm[0], reverse=desc)


def page_by_score(scored: list[tuple[int, Any]], place: Callable[[int], int], start: int,
                  rows: int, desc: bool) -> list[tuple[int, float]] | None:
    """(seq, score) of the documents start..start+rows of ``scored`` (seq,
    score) as ``ORDER BY score, <other keys>, seq`` orders them: by score,
    ties by ``place`` (a seq's place in the cached order of the other keys).
    None when a score is NULL or NaN, which PostgreSQL orders apart from the
    numbers: the SQL path answers those."""
    if any(score is None or score != score for _, score in scored):
        return None
    sign = -1.0 if desc else 1.0
    keyed = [(sign * score, place(seq), seq, score) for seq, score in scored]   # places are unique
    return [(seq, score) for _, _, seq, score in heapq.nsmallest(start + rows, keyed)][start:]
