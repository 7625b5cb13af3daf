"""Text analysis with PostgreSQL full-text search.

Each text value is analysed three times by PostgreSQL's default parser:
``simple`` (raw lower-cased tokens, used for wildcards and words the
stemmers drop), ``english`` (on an ASCII-folded copy, like Solr's
ASCIIFoldingFilter) and ``german`` (whose Snowball stemmer folds umlauts
itself). The three share token positions, so their lexemes are merged per
position. In the stored tsvector every lexeme is prefixed with its field
name (``title:glasfaseranschluss``), which lets one GIN-indexed tsvector
column serve field-specific matching, phrases and prefix queries.
"""
from __future__ import annotations

import re
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Iterable
from typing import Any

from .schema import NGram, ngram_split

# position -> lexemes at that position
Tokens = list[tuple[int, frozenset[str]]]

MAX_POS = 16383          # PostgreSQL's largest tsvector position
MAX_LEXEME_BYTES = 2000  # PostgreSQL limit is 2047 bytes
POSITION_GAP = 100       # Solr's positionIncrementGap between values

_ANALYSE_SQL = (
    "SELECT u.i, to_tsvector('simple', u.t)::text, "
    "to_tsvector('english', u.f)::text, to_tsvector('german', u.t)::text "
    "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(t, f, i)")
_LEXEME_RE = re.compile(r"'((?:[^'\\]|''|\\.)*)'(?::([0-9A-D,]+))?")


def fold(text: str) -> str:
    """ASCII-fold accents (Ä -> A, ß -> ss) like Solr's ASCIIFoldingFilter."""
    text = text.replace("ß", "ss").replace("ẞ", "SS")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse_tsvector(text: str) -> Iterable[tuple[str, list[int]]]:
    """Lexemes and positions from a tsvector's text output."""
    if "\\" not in text and "''" not in text:
        # fast path (no quotes or backslashes inside lexemes):
        # "'a':1,2 'b':3" splits on quotes into ['', 'a', ':1,2 ', 'b', ':3']
        parts = text.split("'")
        for i in range(1, len(parts) - 1, 2):
            pos = parts[i + 1].strip()[1:]
            yield parts[i], [int(p.rstrip("ABCD")) for p in pos.split(",")] if pos else []
        return
    for m in _LEXEME_RE.finditer(text):
        lexeme = m.group(1).replace("''", "'")
        lexeme = re.sub(r"\\(.)", r"\1", lexeme)
        positions = [int(p.rstrip("ABCD")) for p in (m.group(2) or "").split(",") if p]
        yield lexeme, positions


def quote_lexeme(lexeme: str) -> str:
    """Quote a lexeme for tsvector/tsquery input syntax."""
    return "'" + lexeme.replace("\\", "\\\\").replace("'", "''") + "'"


class Analyzer:
    """Analyses strings in PostgreSQL, with a small LRU cache for queries."""

    def __init__(self, cache_size: int = 20000):
        self._cache: OrderedDict[str, Tokens] = OrderedDict()
        self._lock = threading.Lock()
        self._cache_size = cache_size

    def analyse(self, cur: Any, texts: Iterable[str], cache: bool = True) -> dict[str, Tokens]:
        out: dict[str, Tokens] = {}
        missing: list[str] = []
        with self._lock:
            for t in texts:
                if t in out:
                    continue
                hit = self._cache.get(t) if cache else None
                if hit is not None:
                    self._cache.move_to_end(t)
                    out[t] = hit
                else:
                    out[t] = []
                    missing.append(t)
        if missing:
            cur.execute(_ANALYSE_SQL, (missing, [fold(t) for t in missing]))
            for idx, *vectors in cur.fetchall():
                by_pos: dict[int, set[str]] = {}
                for vec in vectors:
                    for lexeme, positions in parse_tsvector(vec):
                        for p in positions:
                            lx = by_pos.get(p)
                            if lx is None:
                                by_pos[p] = {lexeme}
                            else:
                                lx.add(lexeme)
                out[missing[idx - 1]] = [(p, frozenset(lx)) for p, lx in sorted(by_pos.items())]
            if cache:
                with self._lock:
                    for t in missing:
                        self._cache[t] = out[t]
                    while len(self._cache) > self._cache_size:
                        self._cache.popitem(last=False)
        return out


def exact_lexeme(field: str, value: str) -> str | None:
    """The verbatim lexeme of a string field value (None: too long)."""
    key = "=" + field + ":" + value
    return key if len(key.encode("utf-8")) <= MAX_LEXEME_BYTES else None


def ngram_windows(ng: NGram, value: str) -> list[tuple[str, int]]:
    """(window, position) for an n-gram field value.

    Rather than every gram of min..max characters, each start offset stores
    one window of up to ``max`` characters (``edge``: only offset 0 of the
    value or token). A query token of min..max characters is a gram of the
    value exactly when it is a prefix of one of these windows, which a
    tsquery prefix match (``'field:tok':*``) finds through the GIN index.
    """
    text = value.lower() if ng.lower else value
    tokens = [text] if ng.whole else ngram_split(text, ng.split)
    out: list[tuple[str, int]] = []
    base = 0
    for tok in tokens:
        for i in ([0] if ng.edge else range(len(tok))):
            window = tok[i:i + ng.max]
            if len(window) >= ng.min:
                out.append((window, min(base + i + 1, MAX_POS)))
        base += len(tok) + 1
    return out


def ngram_query_tokens(ng: NGram, text: str) -> list[str] | None:
    """Query-time tokens of an n-gram field; None when one of them cannot
    be a gram (shorter than min or longer than max: no match, as in Solr)."""
    if ng.query_lower:
        text = text.lower()
    tokens = ngram_split(text, ng.query_split)
    if any(not ng.min <= len(t) <= ng.max for t in tokens):
        return None
    return tokens


def build_tsvector(fields: dict[str, list[Tokens]],
                   exact: dict[str, list[str]] | None = None,
                   ngrams: dict[str, tuple[NGram, list[str]]] | None = None) -> str:
    """tsvector literal for a document: field-prefixed lexemes, positions
    offset by POSITION_GAP between the values of a multi-valued field."""
    entries: dict[str, list[int]] = {}
    _add_ngrams(entries, ngrams or {})
    _add_exact(entries, exact or {})
    for field, values in fields.items():
        _add_tokens(entries, field + ":", values)
    parts = []
    for key, positions in entries.items():
        if len(key) * 4 > MAX_LEXEME_BYTES and len(key.encode("utf-8")) > MAX_LEXEME_BYTES:
            continue
        quoted = quote_lexeme(key) if "'" in key or "\\" in key else "'" + key + "'"
        if len(positions) > 1:
            positions = sorted(set(positions))
        parts.append(quoted + ":" + ",".join(map(str, positions)))
    return " ".join(parts)


def _add_ngrams(entries: dict[str, list[int]],
                ngrams: dict[str, tuple[NGram, list[str]]]) -> None:
    for field, (spec, texts) in ngrams.items():
        for text in texts:
            for window, pos in ngram_windows(spec, text):
                lst = entries.setdefault(field + ":" + window, [])
                if len(lst) < 256 and (not lst or lst[-1] != pos):
                    lst.append(pos)


def _add_exact(entries: dict[str, list[int]], exact: dict[str, list[str]]) -> None:
    for field, strings in exact.items():
        for number, string in enumerate(strings, start=1):
            exact_key = exact_lexeme(field, string)
            if exact_key is not None:
                entries.setdefault(exact_key, []).append(min(number, MAX_POS))


def _add_tokens(entries: dict[str, list[int]], prefix: str, values: list[Tokens]) -> None:
    """The analysed values of one field; each value starts POSITION_GAP
    after the last position of the one before (Solr's positionIncrementGap)."""
    offset = 0
    for tokens in values:
        last = 0
        for pos, lexemes in tokens:
            p = min(pos + offset, MAX_POS)
            last = pos
            for lx in lexemes:
                key = prefix + lx
                known = entries.get(key)
                if known is None:
                    entries[key] = [p]
                elif known[-1] != p and len(known) < 256:
                    known.append(p)
        offset += last + POSITION_GAP


def tokens_tsquery(field: str, tokens: Tokens) -> str | None:
    """tsquery matching ``tokens`` in ``field`` as a phrase (one token: OR of
    its lexemes)."""
    if not tokens:
        return None
    parts: list[str] = []
    prev = None
    for pos, lexemes in tokens:
        group = " | ".join(quote_lexeme(field + ":" + lx) for lx in sorted(lexemes))
        group = "(" + group + ")"
        if prev is not None:
            parts.append(f"<{min(pos - prev, MAX_POS)}>")
        parts.append(group)
        prev = pos
    return "(" + " ".join(parts) + ")"
