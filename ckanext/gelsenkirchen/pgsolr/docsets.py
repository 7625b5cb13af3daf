"""Document sets of a core per write generation, like Solr's filterCache
and docValues.

Broad queries (``*:*`` under CKAN's fixed filters: 90 % of a core) cost
PostgreSQL a pass over every matching row for the count, the sort and the
facets. Solr answers them from cached bit sets instead; so does this module:

- every document of a core gets a dense position (in ``seq`` order);
- each filter (an ``fq``, a ``facet.query``) is evaluated once in SQL, by
  the same compiled condition the SQL path uses, into a bit set (a Python
  int); a query's match set is the AND of its filters' sets;
- each faceted field keeps one bit set per value, so a count is
  ``(value_set & match_set).bit_count()``;
- each sort spec keeps the core's positions in its order, so a page is the
  first matching positions in that order.

Everything is keyed on the core's write generation (see
Store.bump_generation) and read in the query's REPEATABLE READ snapshot, so
results are exact; a write makes the next query rebuild what it needs.
"""
from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from typing import Any

# a faceted field with more distinct values, or whose sets would take more
# memory than this, is counted in SQL
MAX_FACET_VALUES = 5000
MAX_FIELD_BYTES = 32 * 1024 * 1024
# filters and sort orders kept per core generation
MAX_ENTRIES = 256


@dataclass
class CoreSets:
    """The cached sets of one core at one write generation."""
    gen: int
    seqs: list[int]                      # position -> seq
    pos: dict[int, int]                  # seq -> position
    filters: dict[tuple[str, str], int] = field(default_factory=dict)
    values: dict[str, dict[str, int] | None] = field(default_factory=dict)
    orders: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    @property
    def size(self) -> int:
        return len(self.seqs)

    @property
    def everything(self) -> int:
        return (1 << len(self.seqs)) - 1

    def mask(self, positions: Any) -> int:
        bits = bytearray((len(self.seqs) + 7) // 8)
        for i in positions:
            bits[i >> 3] |= 1 << (i & 7)
        return int.from_bytes(bits, "little")

    def members(self, mask: int) -> list[int]:
        """The seqs of the positions set in ``mask``, in position order."""
        raw = mask.to_bytes((len(self.seqs) + 7) // 8, "little")
        seqs = self.seqs
        out: list[int] = []
        for b, byte in enumerate(raw):
            if byte:
                base = b << 3
                for bit in range(8):
                    if byte >> bit & 1:
                        out.append(seqs[base + bit])
        return out

    def first(self, mask: int, order: list[int], start: int, rows: int) -> list[int]:
        """Seqs of the matching documents start..start+rows in ``order``."""
        raw = mask.to_bytes((len(self.seqs) + 7) // 8, "little")
        out: list[int] = []
        skipped = 0
        for p in order:
            if raw[p >> 3] >> (p & 7) & 1:
                if skipped < start:
                    skipped += 1
                    continue
                out.append(self.seqs[p])
                if len(out) >= rows:
                    break
        return out


def _key(sql: str, params: list[Any]) -> tuple[str, str]:
    return sql, json.dumps(params, default=str)


class DocSets:
    """Per-core CoreSets, rebuilt lazily when the generation changes."""

    def __init__(self) -> None:
        self._cores: dict[str, CoreSets] = {}
        self._lock = threading.Lock()

    def get(self, cur: Any, core: str, gen: int) -> CoreSets:
        with self._lock:
            sets = self._cores.get(core)
        if sets is not None and sets.gen == gen:
            return sets
        cur.execute("SELECT seq FROM pgsolr_doc WHERE core = %s ORDER BY seq", (core,))
        seqs = [r[0] for r in cur.fetchall()]
        sets = CoreSets(gen, seqs, {s: i for i, s in enumerate(seqs)})
        with self._lock:
            if len(self._cores) >= 64:
                self._cores.clear()
            self._cores[core] = sets
        return sets

    @staticmethod
    def prepare(cur: Any, sets: CoreSets, core: str, filters: list[tuple[str, list[Any]]],
                fields: list[tuple[str, bool]]) -> None:
        """Compute the missing filter sets and value sets in one statement
        (one pass over the core's rows instead of one per filter and field)."""
        todo_f = list({_key(sql, p): (sql, p) for sql, p in filters
                       if _key(sql, p) not in sets.filters}.values())
        todo_v = list(dict.fromkeys(f for f in fields if f[0] not in sets.values))
        # full-text filters: through the tsv GIN index, not by detoasting
        # every document's tsv in the pass below
        for sql, prm in [f for f in todo_f if "tsv" in f[0]]:
            cur.execute(f"SELECT seq FROM pgsolr_doc WHERE core = %s AND ({sql})",  # noqa: S608 - compiled fragment, values are bound
                        [core] + prm)
            sets.filters[_key(sql, prm)] = sets.mask(sets.pos[r[0]] for r in cur.fetchall())
        todo_f = [f for f in todo_f if "tsv" not in f[0]]
        if not todo_f and not todo_v:
            return
        cols: list[str] = []
        params: list[Any] = []
        for i, (sql, prm) in enumerate(todo_f):
            cols.append(f"COALESCE(({sql}), FALSE) AS b{i}")
            params.extend(prm)
        for j, (name, multi) in enumerate(todo_v):
            cols.append(f"idx->%s AS v{j}" if multi else f"idx->>%s AS v{j}")
            params.append(name)
        parts: list[str] = []
        for i in range(len(todo_f)):
            parts.append(f"SELECT 'f', {i}, NULL::text, array_agg(pos) FROM a WHERE b{i}")  # noqa: S608 - generated names
        for j, (_name, multi) in enumerate(todo_v):
            if multi:
                parts.append(
                    f"SELECT 'v', {j}, e.v, array_agg(a.pos) FROM a, "  # noqa: S608 - generated names
                    f"jsonb_array_elements_text(CASE WHEN jsonb_typeof(a.v{j}) = 'array' "
                    f"THEN a.v{j} ELSE '[]'::jsonb END) AS e(v) GROUP BY e.v")
            else:
                parts.append(f"SELECT 'v', {j}, v{j}, array_agg(pos) FROM a "  # noqa: S608 - generated names
                             f"WHERE v{j} IS NOT NULL GROUP BY v{j}")
        cur.execute(
            f"WITH a AS MATERIALIZED (SELECT row_number() OVER (ORDER BY seq) - 1 AS pos, "  # noqa: S608 - compiled fragments and generated names, values are bound
            f"{', '.join(cols)} FROM pgsolr_doc WHERE core = %s) "
            + " UNION ALL ".join(f"({p})" for p in parts), params + [core])
        found_f: dict[int, int] = {}
        found_v: dict[int, dict[str, int]] = {j: {} for j in range(len(todo_v))}
        for kind, i, value, positions in cur.fetchall():
            if kind == "f":
                found_f[i] = sets.mask(positions or [])
            else:
                found_v[i][value] = sets.mask(positions)
        if len(sets.filters) + len(todo_f) > MAX_ENTRIES:
            sets.filters.clear()
        for i, (sql, prm) in enumerate(todo_f):
            sets.filters[_key(sql, prm)] = found_f.get(i, 0)
        row_bytes = sets.size // 8 + 1
        for j, (name, _multi) in enumerate(todo_v):
            vals = found_v[j]
            too_many = len(vals) > MAX_FACET_VALUES or len(vals) * row_bytes > MAX_FIELD_BYTES
            sets.values[name] = None if too_many else vals

    @staticmethod
    def filter(sets: CoreSets, sql: str, params: list[Any]) -> int:
        """The set of a filter computed by prepare."""
        return sets.filters[_key(sql, params)]

    @staticmethod
    def order(cur: Any, sets: CoreSets, sql: str, params: list[Any]) -> list[int]:
        """The core's positions in the order of ``sql`` (a statement
        returning every seq of the core, sorted)."""
        key = _key(sql, params)
        hit = sets.orders.get(key)
        if hit is not None:
            return hit
        cur.execute(sql, params)
        pos = sets.pos
        order = [pos[r[0]] for r in cur.fetchall()]
        if len(sets.orders) >= MAX_ENTRIES:
            sets.orders.clear()
        sets.orders[key] = order
        return order
