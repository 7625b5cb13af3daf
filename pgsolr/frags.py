"""Compiled query fragments and how they combine.

A :class:`Frag` is a boolean SQL condition over the ``idx`` (jsonb) and
``tsv`` (tsvector) columns plus a score expression. Conditions that are
pure full-text matches keep their tsquery so that AND/OR/NOT of them
collapse into one ``tsv @@ tsquery`` (one GIN lookup).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, replace
from dataclasses import field as dc_field
from typing import Any

MUST, SHOULD, MUST_NOT = "+", "", "-"
STRING_MATCH_SCORE = 0.1   # comparable to ts_rank of one matching lexeme


@dataclass
class Frag:
    sql: str
    params: list[Any]
    score: str = "0"
    score_params: list[Any] = dc_field(default_factory=list)
    tsq: str | None = None
    match_all: bool = False
    # For tsq frags: equivalent condition on idx alone (string fields), and
    # whether the tsquery holds analysed text (then only tsv can answer it).
    alt: tuple[str, list[Any]] | None = None
    text: bool = True
    # alt is exactly ``idx @> contains``: ANDed ones merge into one test
    contains: dict[str, Any] | None = None


def _ts_frag(tsq: str, alt: tuple[str, list[Any]] | None = None, text: bool = True,
             contains: dict[str, Any] | None = None) -> Frag:
    """A tsquery condition. Without analysed text it is evaluated through
    ``alt`` on idx (uncompressed, cheap per row, GIN jsonb_path_ops) unless
    it gets merged with free text, when one tsv GIN lookup answers all."""
    if contains is not None:
        alt = ("idx @> %s::jsonb", [json.dumps(contains)])
    if alt is not None and not text:
        sql, params = alt
    else:
        sql, params = "tsv @@ %s::tsquery", [tsq]
    return Frag(sql, list(params), "ts_rank(tsv, %s::tsquery)", [tsq], tsq=tsq,
                alt=alt, text=text, contains=contains)


def _merge_contains(docs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """One containment document equivalent to all of ``docs`` (AND): lists
    of a multi-valued field unite; two different values of a single-valued
    field cannot be one document (None)."""
    out: dict[str, Any] = {}
    for doc in docs:
        for key, value in doc.items():
            if key not in out:
                out[key] = list(value) if isinstance(value, list) else value
            elif isinstance(out[key], list) and isinstance(value, list):
                out[key] += [v for v in value if v not in out[key]]
            elif out[key] != value:
                return None
    return out


def _merge_ts(frags: list[Frag], nots: list[Frag], op: str) -> Frag:
    q = f" {op} ".join(f"({f.tsq})" for f in frags)
    q += "".join(f" & !({f.tsq})" for f in nots)
    text = any(f.text for f in frags + nots)
    alt = None
    contained = [f for f in frags if f.contains is not None] if op == "&" else []
    if len(contained) > 1:
        # one jsonb containment test per row instead of one per filter
        merged = _merge_contains([f.contains for f in contained if f.contains is not None])
        if merged is not None:
            one = _ts_frag(" & ".join(f"({f.tsq})" for f in contained), text=False,
                           contains=merged)
            rest = [f for f in frags if f.contains is None]
            if not rest and not nots:
                return one
            return _merge_ts([one] + rest, nots, op)
    frag_alts = [f.alt for f in frags if f.alt is not None]
    not_alts = [f.alt for f in nots if f.alt is not None]
    if len(frag_alts) == len(frags) and len(not_alts) == len(nots):
        sqls = [a[0] for a in frag_alts] + [f"NOT ({a[0]})" for a in not_alts]
        glue = " AND " if op == "&" else " OR "
        if op != "&" and nots:
            sqls = ["(" + " OR ".join(a[0] for a in frag_alts) + ")"] + sqls[len(frags):]
            glue = " AND "
        alt = ("(" + glue.join(sqls) + ")",
               [p for a in frag_alts + not_alts for p in a[1]])
    return _ts_frag(q, alt, text)


def _sql_frag(sql: str, params: list[Any]) -> Frag:
    """A non-text condition; it scores a constant when it matches."""
    return Frag(sql, params, f"(CASE WHEN {sql} THEN {STRING_MATCH_SCORE} ELSE 0 END)",
                list(params))


MATCH_ALL = Frag("TRUE", [], "1.0", [], match_all=True)
MATCH_NONE = Frag("FALSE", [], "0", [])


def _and(frags: list[Frag], nots: list[Frag] | None = None) -> Frag:
    """All of ``frags`` and none of ``nots`` (no positives: *:* minus nots)."""
    nots = nots or []
    pos = [f for f in frags if not f.match_all]
    ts = [f for f in pos if f.tsq is not None]
    other = [f for f in pos if f.tsq is None]
    ts_nots = [f for f in nots if f.tsq is not None]
    other_nots = [f for f in nots if f.tsq is None]
    parts: list[Frag] = []
    if ts:
        if len(ts) == 1 and not ts_nots:
            parts.append(ts[0])
        else:
            parts.append(_merge_ts(ts, ts_nots, "&"))
            ts_nots = []
    parts.extend(other)
    for f in ts_nots + other_nots:
        parts.append(Frag(f"NOT ({f.sql})", f.params))
    if frags:
        score = "(" + " + ".join(f.score for f in frags) + ")" if len(frags) > 1 else frags[0].score
        score_params = [p for f in frags for p in f.score_params]
    else:
        score, score_params = "1.0", []
    if not parts:
        return Frag("TRUE", [], score, score_params, match_all=True)
    if len(parts) == 1:
        return replace(parts[0], score=score, score_params=score_params)
    return Frag("(" + " AND ".join(p.sql for p in parts) + ")",
                [x for p in parts for x in p.params], score, score_params)


def _or(frags: list[Frag]) -> Frag:
    if not frags:
        return MATCH_NONE
    if any(f.match_all for f in frags):
        rest = [f for f in frags if not f.match_all]
        return Frag("TRUE", [], "(" + " + ".join(["1.0"] + [f.score for f in rest]) + ")",
                    [p for f in rest for p in f.score_params], match_all=True)
    if len(frags) == 1:
        return frags[0]
    ts = [f for f in frags if f.tsq is not None]
    other = [f for f in frags if f.tsq is None]
    parts: list[Frag] = []
    if ts:
        merged = _merge_ts(ts, [], "|")
        parts.append(merged)
    parts.extend(other)
    if len(parts) == 1:
        return parts[0]
    return Frag("(" + " OR ".join(p.sql for p in parts) + ")",
                [x for p in parts for x in p.params],
                "(" + " + ".join(p.score for p in parts) + ")",
                [x for p in parts for x in p.score_params])


def _boolean(musts: list[Frag], shoulds: list[Frag], nots: list[Frag]) -> Frag:
    """Lucene's BooleanQuery: required clauses match and score; optional ones
    only add to the score once a required clause exists, else one must match."""
    if musts:
        base = _and(musts, nots)
        if shoulds:
            opt = _or(shoulds)
            return replace(
                base, score=f"({base.score}) + (CASE WHEN {opt.sql} THEN {opt.score} ELSE 0 END)",
                score_params=base.score_params + opt.params + opt.score_params)
        return base
    if shoulds:
        return _and([_or(shoulds)], nots)
    return _and([], nots)


def _at_least(frags: list[Frag], k: int) -> Frag:
    """At least ``k`` of ``frags`` must match (dismax mm)."""
    n = len(frags)
    if k <= 1:
        return _or(frags)
    if k >= n:
        both = _and(frags)
        return both
    any_ = _or(frags)
    counter = " + ".join(f"(CASE WHEN {f.sql} THEN 1 ELSE 0 END)" for f in frags)
    return Frag(f"({any_.sql} AND ({counter}) >= {int(k)})",
                any_.params + [p for f in frags for p in f.params],
                "(" + " + ".join(f.score for f in frags) + ")",
                [p for f in frags for p in f.score_params])


def _boost(frag: Frag, boost: float) -> Frag:
    if boost == 1:
        return frag
    return replace(frag, score=f"({frag.score}) * %s", score_params=frag.score_params + [boost])
