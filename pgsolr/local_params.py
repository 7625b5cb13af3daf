"""Local params of a query: ``{!type k=v ...}rest``, and which of them each
query parser of pgsolr applies."""
from __future__ import annotations

import re

from .errors import bad_request, syntax_error

_LOCAL_RE = re.compile(r"""\s*(?:([\w.]+)\s*=\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|([^\s}]*))|([\w.]+))""")


def parse_local_params_list(text: str) -> tuple[list[tuple[str, str]], str]:
    """Split ``{!type k=v k=v2 ...}rest`` into ([(key, value), ...], rest);
    a bare first word is ``("type", word)``. Keys may repeat."""
    text = text.lstrip()
    if not text.startswith("{!"):
        return [], text
    pos = 2
    pairs: list[tuple[str, str]] = []
    while True:
        if pos >= len(text):
            raise syntax_error(f"Missing end to unquoted value starting at 2 str='{text}'")
        if text[pos] == "}":
            pos += 1
            break
        m = _LOCAL_RE.match(text, pos)
        if not m or m.end() == pos:
            raise syntax_error(f"Expected identifier at pos {pos} str='{text}'")
        key, sq, dq, bare, flag = m.groups()
        if flag is not None:
            if not any(k == "type" for k, _ in pairs):
                pairs.append(("type", flag))
        else:
            val = sq if sq is not None else dq if dq is not None else bare or ""
            pairs.append((key, re.sub(r"\\(.)", r"\1", val)))
        pos = m.end()
    return pairs, text[pos:]


# The local params each query parser of pgsolr applies, and those every
# parser accepts because they change no result (tag: a label for facet
# exclusion; cache, cost: filter-cache hints). Any other local param is a 400
# naming it: pgsolr never ignores what it does not apply (docs/pgsolr.md).
_ANY_PARSER_PARAMS = frozenset({"type", "v", "tag", "cache", "cost"})
_LUCENE_PARAMS = frozenset({"df", "q.op"})
_DISMAX_PARAMS = frozenset({"qf", "mm", "tie", "q.alt", "df", "q.op"})
PARSER_PARAMS: dict[str, frozenset[str]] = {
    "frange": frozenset({"l", "u", "incl", "incu"}), "func": frozenset(),
    "field": frozenset({"f"}), "term": frozenset({"f"}), "prefix": frozenset({"f"}),
    "raw": frozenset({"f"}), "lucene": _LUCENE_PARAMS, "standard": _LUCENE_PARAMS,
    "dismax": _DISMAX_PARAMS, "edismax": _DISMAX_PARAMS,
    "bool": frozenset({"must", "should", "must_not", "filter"}),
}
# Parsers of Apache Solr 9 that pgsolr does not implement: named as such in
# the 400 (a parser Solr does not know either gets Solr's own message).
SOLR_ONLY_PARSERS = frozenset({
    "knn", "vectorSimilarity", "geofilt", "bbox", "collapse", "join", "terms", "surround",
    "complexphrase", "graph", "child", "parent", "mlt", "rerank", "ltr", "switch",
    "xmlparser", "maxscore", "boost", "payload_score", "payload_check", "simple",
    "significantTerms", "hash", "minhash", "rank", "filters",
})


def check_local_params(qtype: str, local: dict[str, str]) -> None:
    """A 400 for a local param that ``qtype`` would ignore on pgsolr."""
    unknown = sorted(set(local) - _ANY_PARSER_PARAMS - PARSER_PARAMS.get(qtype, frozenset()))
    if unknown:
        raise bad_request(f"pgsolr does not support the local parameter '{unknown[0]}' "
                          f"of the {qtype} query parser; Apache Solr does")


def parse_local_params(text: str) -> tuple[dict[str, str], str]:
    """Split ``{!type k=v ...}rest`` into (params, rest); for a repeated key
    the last value wins (see parse_local_params_list for all values)."""
    pairs, rest = parse_local_params_list(text)
    return dict(pairs), rest
