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

# position -> lexemes at that position
Tokens = list[tuple[int, frozenset[str]]]

_LEXEME_RE = re.compile(r"'((?:[^'\\]|''|\\.)*)'(?::([0-9A-D,]+))?")
MAX_POS = 16383          # PostgreSQL's largest tsvector position
MAX_LEXEME_BYTES = 2000  # PostgreSQL limit is 2047 bytes
POSITION_GAP = 100       # Solr's positionIncrementGap between values

_ANALYSE_SQL = (
    "SELECT u.i, to_tsvector('simple', u.t)::text, "
    "to_tsvector('english', u.f)::text, to_tsvector('german', u.t)::text "
    "FROM unnest(%s::text[], %s::text[]) WITH ORDINALITY AS u(t, f, i)")


def fold(text: str) -> str:
    """ASCII-fold accents (Ä -> A, ß -> ss) like Solr's ASCIIFoldingFilter."""
    text = text.replace("ß", "ss").replace("ẞ", "SS")
    decomposed = unicodedata.normalize("NFKD", text)
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def parse_tsvector(text: str) -> Iterable[tuple[str, list[int]]]:
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
                            by_pos.setdefault(p, set()).add(lexeme)
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


def build_tsvector(fields: dict[str, list[Tokens]],
                   exact: dict[str, list[str]] | None = None) -> str:
    """tsvector literal for a document: field-prefixed lexemes, positions
    offset by POSITION_GAP between the values of a multi-valued field."""
    entries: dict[str, list[int]] = {}
    for field, values in (exact or {}).items():
        for pos, value in enumerate(values, start=1):
            key = exact_lexeme(field, value)
            if key is not None:
                entries.setdefault(key, []).append(min(pos, MAX_POS))
    for field, values in fields.items():
        offset = 0
        for tokens in values:
            last = 0
            for pos, lexemes in tokens:
                p = min(pos + offset, MAX_POS)
                last = pos
                for lx in lexemes:
                    key = field + ":" + lx
                    lst = entries.get(key)
                    if lst is None:
                        entries[key] = [p]
                    elif len(lst) < 256 and lst[-1] != p:
                        lst.append(p)
            offset += last + POSITION_GAP
    parts = []
    for key, positions in entries.items():
        if len(key.encode("utf-8")) > MAX_LEXEME_BYTES:
            continue
        parts.append(quote_lexeme(key) + ":" + ",".join(map(str, sorted(set(positions)))))
    return " ".join(parts)


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
