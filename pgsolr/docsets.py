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
results are exact. After a write the sets are advanced, not rebuilt: writers
of a core queue on its generation row before they draw ``seq`` numbers, so
the documents added since are exactly those with a larger ``seq`` than the
sets know, and removed ones are the known ``seq`` numbers that are gone.
Their positions stay dead until a full rebuild (after large changes).
"""
from __future__ import annotations

import bisect
import functools
import json
import threading
from dataclasses import dataclass, field
from typing import Any

from . import ranks

# a faceted field with more distinct values, or whose sets would take more
# memory than this, is counted in SQL
MAX_FACET_VALUES = 5000
MAX_FIELD_BYTES = 32 * 1024 * 1024
# filters kept per core generation; sort orders (each holds every
# document's key values: 1.6 MB per 10,000 documents) per core; CKAN sorts by
# relevance, name, title, date modified or created
MAX_ENTRIES = 256
MAX_ORDERS = 8
# pages of queries scored in SQL kept per core generation (each holds
# its rows' stored documents)
MAX_RESULTS = 32
# a write adding more documents than this (or a tenth of the core), or
# leaving more than a fifth of the positions dead, rebuilds the sets
ADVANCE_MAX_NEW = 500
# a page from a group of at most this many documents is sorted by their
# places in the cached order instead of walking the order
SMALL_GROUP = 256


SortSpec = tuple[str, bool, bool, str]   # column, desc, nulls first, ORDER BY item


@dataclass
class Order:
    """The core's positions sorted as ``ORDER BY specs, seq``, with each
    position's key values, so that new documents can be placed by bisection."""
    select: str                          # the columns over pgsolr_doc (AS m)
    params: list[Any]
    specs: list[SortSpec]
    positions: list[int]
    keys: dict[int, tuple[Any, ...]]     # position -> key values
    _rank: list[int] | None = None       # position -> place in positions

    def rank(self, size: int) -> list[int]:
        """Each position's place in the order (dead positions: last)."""
        if self._rank is None or len(self._rank) != size:
            rank = [len(self.positions)] * size
            for i, p in enumerate(self.positions):
                rank[p] = i
            self._rank = rank
        return self._rank

    def sql(self, delta: bool) -> str:
        """All the core's documents in order, or only those after a seq."""
        cols = ", ".join(c for c, _, _, _ in self.specs)
        where = "core = %s AND seq > %s" if delta else "core = %s"
        order = "" if delta else " ORDER BY " + ", ".join([o for _, _, _, o in self.specs] + ["seq ASC"])
        return (f"SELECT seq{', ' + cols if cols else ''} FROM (SELECT {self.select} "  # noqa: S608 - generated from schema-checked sort keys, values are bound
                f"FROM pgsolr_doc WHERE {where}) AS m{order}")

    def sort_key(self, seqs: list[int]) -> Any:
        """A key function for a position, comparing as PostgreSQL orders:
        COLLATE "C" text compares by code point, like Python's str."""
        specs = self.specs

        def compare(a: tuple[tuple[Any, ...], int], b: tuple[tuple[Any, ...], int]) -> int:
            for (_, desc, nulls_first, _), va, vb in zip(specs, a[0], b[0], strict=True):
                if va is None or vb is None:
                    if va is None and vb is None:
                        continue
                    return (-1 if va is None else 1) * (1 if nulls_first else -1)
                if va != vb:
                    return (1 if va > vb else -1) * (-1 if desc else 1)
            return (a[1] > b[1]) - (a[1] < b[1])

        wrap = functools.cmp_to_key(compare)
        return lambda p: wrap((self.keys[p], seqs[p]))


@dataclass
class CoreSets:
    """The cached sets of one core at one write generation."""
    gen: int
    seqs: list[int]                      # position -> seq (dead positions included)
    pos: dict[int, int]                  # seq -> position
    alive: int = 0                       # positions of the core's documents
    max_seq: int = 0
    dead: int = 0
    # key -> (sql, params, set) / field -> {value: set} or None / key -> order
    filters: dict[tuple[str, str], tuple[str, list[Any], int]] = field(default_factory=dict)
    values: dict[str, dict[str, int] | None] = field(default_factory=dict)
    multi: dict[str, bool] = field(default_factory=dict)   # field -> multi-valued
    orders: dict[tuple[str, str], Order] = field(default_factory=dict)
    # filter key -> requests that used it; only filters used by several
    # requests are carried over a write (a map extent is usually used once)
    uses: dict[tuple[str, str], int] = field(default_factory=dict)
    # ts_rank terms (ranks.py): tsquery -> {value: set}, None when it has
    # too many values; and how many requests used each
    terms: dict[str, dict[float, int] | None] = field(default_factory=dict)
    term_uses: dict[str, int] = field(default_factory=dict)
    # (match set, score and sort, start, rows) -> (maxScore, page) of
    # queries scored in SQL (bf, boost); not carried over a write
    results: dict[Any, Any] = field(default_factory=dict)

    def keep_result(self, key: Any, value: Any) -> None:
        if len(self.results) >= MAX_RESULTS:
            self.results.clear()
        self.results[key] = value

    @property
    def size(self) -> int:
        return len(self.seqs)

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

    def positions(self, mask: int) -> list[int]:
        """The positions set in ``mask``."""
        out: list[int] = []
        while mask:
            low = mask & -mask
            out.append(low.bit_length() - 1)
            mask ^= low
        return out

    def first_ranked(self, groups: list[tuple[float, int]], order: Order, start: int,
                     rows: int) -> list[tuple[int, float]]:
        """(seq, score) of the documents start..start+rows of ``groups``
        (score, set), taken group by group, each in ``order``."""
        out: list[tuple[int, float]] = []
        skip = start
        for score, mask in groups:
            if len(out) >= rows:
                break
            n = mask.bit_count()
            if skip >= n:
                skip -= n
                continue
            want = rows - len(out)
            if n <= SMALL_GROUP:
                rank = order.rank(len(self.seqs))
                got = sorted(self.positions(mask), key=rank.__getitem__)[skip:skip + want]
                seqs = [self.seqs[p] for p in got]
            else:
                seqs = self.first(mask, order.positions, skip, want)
            out.extend((q, score) for q in seqs)
            skip = 0
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


def filter_key(sql: str, params: list[Any]) -> tuple[str, str]:
    return sql, json.dumps(params, default=str)


def _too_many(values: int, size: int) -> bool:
    return values > MAX_FACET_VALUES or values * (size // 8 + 1) > MAX_FIELD_BYTES


class DocSets:
    """Per-core CoreSets, advanced (or rebuilt) lazily when the generation changes."""

    def __init__(self) -> None:
        self._cores: dict[str, CoreSets] = {}
        self._lock = threading.Lock()

    def get(self, cur: Any, core: str, gen: int, max_docs: int) -> CoreSets | None:
        """The core's sets at ``gen``; None (and nothing kept) when the core
        has more than ``max_docs`` documents."""
        with self._lock:
            cached = self._cores.get(core)
        if cached is not None and cached.gen == gen:
            return cached
        sets = None
        if cached is not None and cached.gen < gen:
            sets = self._advance(cur, core, gen, cached)
            if sets is not None and sets.alive.bit_count() > max_docs:
                sets = None
        if sets is None:
            cur.execute("SELECT seq FROM pgsolr_doc WHERE core = %s ORDER BY seq LIMIT %s",
                        (core, max_docs + 1))
            seqs = [r[0] for r in cur.fetchall()]
            if len(seqs) > max_docs:
                with self._lock:
                    self._cores.pop(core, None)
                return None
            sets = CoreSets(gen, seqs, {s: i for i, s in enumerate(seqs)},
                            alive=(1 << len(seqs)) - 1, max_seq=seqs[-1] if seqs else 0)
        with self._lock:
            current = self._cores.get(core)
            if current is None or current.gen <= gen:   # never replace newer sets
                if len(self._cores) >= 64:
                    self._cores.clear()
                self._cores[core] = sets
        return sets

    @staticmethod
    def _advance(cur: Any, core: str, gen: int, old: CoreSets) -> CoreSets | None:
        """``old`` brought to generation ``gen`` by applying what changed
        since, or None when a rebuild is due."""
        cur.execute("SELECT seq FROM pgsolr_doc WHERE core = %s AND seq > %s ORDER BY seq",
                    (core, old.max_seq))
        added = [r[0] for r in cur.fetchall()]
        live = old.alive.bit_count()
        if len(added) > max(ADVANCE_MAX_NEW, live // 10):
            return None
        cur.execute("SELECT seq FROM pgsolr_doc WHERE core = %s AND seq <= %s", (core, old.max_seq))
        present = {r[0] for r in cur.fetchall()}
        removed = [] if len(present) == live else \
            [old.pos[s] for s in old.members(old.alive) if s not in present]
        size = old.size + len(added)
        dead = old.dead + len(removed)
        if dead > size // 5:
            return None
        pos = dict(old.pos)
        pos.update((s, old.size + i) for i, s in enumerate(added))
        new = CoreSets(gen, old.seqs + added, pos, max_seq=added[-1] if added else old.max_seq,
                       dead=dead, multi=old.multi)
        new.alive = (old.alive & ~new.mask(removed)) | new.mask(range(old.size, size))
        # copies: requests still on the old generation may add entries meanwhile
        filters = [(k, f) for k, f in list(old.filters.items()) if old.uses.get(k, 0) >= 2]
        new.uses = {k: old.uses.get(k, 0) for k, _ in filters}
        fields = [(name, vals) for name, vals in list(old.values.items()) if vals is not None]
        rows: list[Any] = []
        if added and (filters or fields):
            cols = [f"COALESCE(({sql}), FALSE)" for _, (sql, _, _) in filters]
            params = [p for _, (_, prm, _) in filters for p in prm]
            for name, _ in fields:
                # the values as text, exactly as prepare's SQL prints them
                if old.multi[name]:
                    cols.append("ARRAY(SELECT jsonb_array_elements_text(CASE WHEN "
                                "jsonb_typeof(idx->%s) = 'array' THEN idx->%s ELSE '[]'::jsonb END))")
                    params += [name, name]
                else:
                    cols.append("idx->>%s")
                    params.append(name)
            cur.execute(f"SELECT seq, {', '.join(cols)} FROM pgsolr_doc "  # noqa: S608 - cached compiled fragments, values are bound
                        "WHERE core = %s AND seq > %s", params + [core, old.max_seq])
            rows = cur.fetchall()
        for i, (key, (sql, prm, mask)) in enumerate(filters):
            hits = new.mask(pos[r[0]] for r in rows if r[1 + i])
            new.filters[key] = (sql, prm, (mask & new.alive) | hits)
        offset = 1 + len(filters)
        for j, (name, vals) in enumerate(fields):
            grown: dict[str, list[int]] = {}
            for r in rows:
                value = r[offset + j]
                for v in value if isinstance(value, list) else [value]:
                    if v is not None:
                        grown.setdefault(v, []).append(pos[r[0]])
            masks = {v: m & new.alive for v, m in vals.items()}
            for v, positions in grown.items():
                masks[v] = masks.get(v, 0) | new.mask(positions)
            masks = {v: m for v, m in masks.items() if m}
            new.values[name] = None if _too_many(len(masks), size) else masks
        new.values.update((name, None) for name, vals in list(old.values.items()) if vals is None)
        for key, order in list(old.orders.items()):
            new.orders[key] = DocSets._advance_order(cur, core, old, new, order, removed)
        DocSets._advance_terms(cur, core, old, new)
        return new

    @staticmethod
    def _advance_terms(cur: Any, core: str, old: CoreSets, new: CoreSets) -> None:
        """The term classes used by several requests, without the removed
        documents and with the added ones."""
        kept = [(t, c) for t, c in list(old.terms.items())
                if c is not None and old.term_uses.get(t, 0) >= 2]
        if not kept:
            return
        rows: list[Any] = []
        if new.size > old.size:
            sql, params = ranks.term_sql([t for t, _ in kept], delta=True)
            cur.execute(sql, params + [core, old.max_seq])
            rows = cur.fetchall()
        for i, (term, classes) in enumerate(kept):
            grown = ranks.classes_from_rows(rows, 1 + i, new.pos, new.mask)
            merged = {v: m & new.alive for v, m in classes.items()}
            for v, m in (grown or {}).items():
                merged[v] = merged.get(v, 0) | m
            merged = {v: m for v, m in merged.items() if m}
            new.terms[term] = None if grown is None or len(merged) > ranks.MAX_CLASSES \
                else merged
            new.term_uses[term] = old.term_uses.get(term, 0)

    @staticmethod
    def term_classes(cur: Any, sets: CoreSets, core: str,
                     terms: list[str]) -> list[dict[float, int]] | None:
        """{value: set} of ``ts_rank(tsv, term)`` for each term (ranks.py),
        computing the missing ones in one statement; None when a term has
        too many values."""
        todo = [t for t in terms if t not in sets.terms]
        if todo:
            sql, params = ranks.term_sql(todo, delta=False)
            cur.execute(sql, params + [core, ranks.any_term(todo)])
            rows = cur.fetchall()
            if len(sets.terms) + len(todo) > MAX_ENTRIES:
                keep = sorted(sets.terms, key=lambda t: -sets.term_uses.get(t, 0))[:MAX_ENTRIES // 2]
                sets.terms = {t: sets.terms[t] for t in keep if t in sets.terms}
                sets.term_uses = {t: sets.term_uses[t] for t in keep if t in sets.term_uses}
            for i, term in enumerate(todo):
                sets.terms[term] = ranks.classes_from_rows(rows, 1 + i, sets.pos, sets.mask)
        out: list[dict[float, int]] = []
        for term in terms:
            sets.term_uses[term] = sets.term_uses.get(term, 0) + 1
            classes = sets.terms.get(term)
            if classes is None:
                return None
            out.append(classes)
        return out

    @staticmethod
    def _advance_order(cur: Any, core: str, old: CoreSets, new: CoreSets, order: Order,
                       removed: list[int]) -> Order:
        """``order`` without the removed positions and with the added ones
        placed by bisection on their key values."""
        gone = set(removed)
        positions = [p for p in order.positions if p not in gone] if gone else list(order.positions)
        keys = dict(order.keys)
        for p in gone:
            keys.pop(p, None)
        moved = Order(order.select, order.params, order.specs, positions, keys)
        if new.size > old.size:
            cur.execute(moved.sql(delta=True), order.params + [core, old.max_seq])
            sort_key = moved.sort_key(new.seqs)
            for row in cur.fetchall():
                p = new.pos[row[0]]
                keys[p] = tuple(row[1:])
                positions.insert(bisect.bisect_left(positions, sort_key(p), key=sort_key), p)
        return moved

    @staticmethod
    def prepare(cur: Any, sets: CoreSets, core: str, filters: list[tuple[str, list[Any]]],
                fields: list[tuple[str, bool]], score: tuple[str, list[Any]] | None = None,
                ) -> tuple[dict[tuple[str, str], int], list[tuple[int, Any]] | None]:
        """The sets of ``filters`` (by filter_key), computing the missing
        filter and value sets in one statement: one pass over the core's
        rows instead of one per filter and field. With ``score`` (an
        expression over the row's columns, cheap for every row), that pass
        also returns (seq, score) of the rows matching every filter it
        computed: a superset of the match set, scored without a second pass
        (None when it computed no filter)."""
        scored: list[tuple[int, Any]] | None = None
        wanted = {filter_key(sql, p): (sql, p) for sql, p in filters}
        found: dict[tuple[str, str], int] = {}
        for key in wanted:
            hit = sets.filters.get(key)
            if hit is not None:
                found[key] = hit[2]
        todo_f = [(k, f) for k, f in wanted.items() if k not in found]
        todo_v = list(dict.fromkeys(f for f in fields if f[0] not in sets.values))
        pos = sets.pos
        # full-text filters: through the tsv GIN index, not by detoasting
        # every document's tsv in the pass below
        for key, (sql, prm) in [f for f in todo_f if "tsv" in f[1][0]]:
            cur.execute(f"SELECT seq FROM pgsolr_doc WHERE core = %s AND ({sql})",  # noqa: S608 - compiled fragment, values are bound
                        [core] + prm)
            found[key] = sets.mask(pos[r[0]] for r in cur.fetchall())
        todo_f = [f for f in todo_f if "tsv" not in f[1][0]]
        if len(todo_f) == 1 and not todo_v:
            # one new filter (a new map extent): its rows straight from the
            # scan, and the score computed for those rows only
            key, (sql, prm) = todo_f[0]
            score_col, score_prm = (f", ({score[0]})::float8", score[1]) if score else ("", [])
            cur.execute(f"SELECT seq{score_col} FROM pgsolr_doc WHERE core = %s AND ({sql})",  # noqa: S608 - compiled fragments, values are bound
                        score_prm + [core] + prm)
            rows = cur.fetchall()
            found[key] = sets.mask(pos[r[0]] for r in rows)
            scored = [(r[0], r[1]) for r in rows] if score else None
            todo_f = []
        if todo_f or todo_v:
            scored = DocSets._one_pass(cur, sets, core, todo_f, todo_v, score, found)
        DocSets._keep(sets, {k: (wanted[k][0], wanted[k][1], found.get(k, 0)) for k in wanted})
        return {k: found.get(k, 0) for k in wanted}, scored

    @staticmethod
    def _one_pass(cur: Any, sets: CoreSets, core: str,
                  todo_f: list[tuple[tuple[str, str], tuple[str, list[Any]]]],
                  todo_v: list[tuple[str, bool]], score: tuple[str, list[Any]] | None,
                  found: dict[tuple[str, str], int]) -> list[tuple[int, Any]] | None:
        """prepare's pass over every row of the core: the sets of the
        filters ``todo_f`` (into ``found``) and of the values of the fields
        ``todo_v`` (into ``sets``), and (seq, score) of the rows matching
        every one of those filters when ``score`` is given."""
        scored: list[tuple[int, Any]] | None = None
        pos = sets.pos
        cols: list[str] = []
        params: list[Any] = []
        for i, (_, (sql, prm)) in enumerate(todo_f):
            cols.append(f"COALESCE(({sql}), FALSE) AS b{i}")
            params.extend(prm)
        for j, (name, multi) in enumerate(todo_v):
            cols.append(f"idx->%s AS v{j}" if multi else f"idx->>%s AS v{j}")
            params.append(name)
        parts: list[str] = []
        if score is not None and todo_f:
            cols.append(f"({score[0]})::float8 AS sc")
            params.extend(score[1])
            parts.append("SELECT 's', 0, NULL::text, array_agg(seq), array_agg(sc) FROM a WHERE "  # noqa: S608 - generated names
                         + " AND ".join(f"b{i}" for i in range(len(todo_f))))
        for i in range(len(todo_f)):
            parts.append(f"SELECT 'f', {i}, NULL::text, array_agg(seq), NULL::float8[] "  # noqa: S608 - generated names
                         f"FROM a WHERE b{i}")
        for j, (_name, multi) in enumerate(todo_v):
            if multi:
                parts.append(
                    f"SELECT 'v', {j}, e.v, array_agg(a.seq), NULL::float8[] FROM a, "  # noqa: S608 - generated names
                    f"jsonb_array_elements_text(CASE WHEN jsonb_typeof(a.v{j}) = 'array' "
                    f"THEN a.v{j} ELSE '[]'::jsonb END) AS e(v) GROUP BY e.v")
            else:
                parts.append(f"SELECT 'v', {j}, v{j}, array_agg(seq), NULL::float8[] FROM a "  # noqa: S608 - generated names
                             f"WHERE v{j} IS NOT NULL GROUP BY v{j}")
        # seqs, not row numbers: after writes, positions are no longer dense
        cur.execute(
            f"WITH a AS MATERIALIZED (SELECT seq, {', '.join(cols)} "  # noqa: S608 - compiled fragments and generated names, values are bound
            "FROM pgsolr_doc WHERE core = %s) "
            + " UNION ALL ".join(f"({p})" for p in parts), params + [core])
        found_v: dict[int, dict[str, int]] = {j: {} for j in range(len(todo_v))}
        for kind, i, value, seqs, scores in cur.fetchall():
            if kind == "s":
                scored = list(zip(seqs or [], scores or [], strict=True))
                continue
            mask = sets.mask(pos[q] for q in seqs or [])
            if kind == "f":
                found[todo_f[i][0]] = mask
            else:
                found_v[i][value] = mask
        for j, (name, multi) in enumerate(todo_v):
            vals = found_v[j]
            sets.multi[name] = multi
            sets.values[name] = None if _too_many(len(vals), sets.size) else vals
        return scored

    @staticmethod
    def _keep(sets: CoreSets, entries: dict[tuple[str, str], tuple[str, list[Any], int]]) -> None:
        """Store a request's filter sets and count the use; when full, drop
        the filters fewer requests used first."""
        for key in entries:
            sets.uses[key] = sets.uses.get(key, 0) + 1
        if len(sets.filters) + len(entries) > MAX_ENTRIES:
            keep = sorted(sets.filters, key=lambda k: -sets.uses.get(k, 0))[:MAX_ENTRIES // 2]
            sets.filters = {k: sets.filters[k] for k in keep if k in sets.filters}
            sets.uses = {k: sets.uses[k] for k in keep if k in sets.uses}
        sets.filters.update(entries)

    @staticmethod
    def order(cur: Any, sets: CoreSets, core: str, select: str, params: list[Any],
              specs: list[SortSpec]) -> Order:
        """The core's positions sorted by ``specs`` (then seq); ``select``
        are the columns over pgsolr_doc that the specs name."""
        key = filter_key(select + "|" + "|".join(o for _, _, _, o in specs), params)
        hit = sets.orders.get(key)
        if hit is not None:
            return hit
        order = Order(select, params, specs, [], {})
        cur.execute(order.sql(delta=False), params + [core])
        pos = sets.pos
        for row in cur.fetchall():
            p = pos[row[0]]
            order.positions.append(p)
            order.keys[p] = tuple(row[1:])
        if len(sets.orders) >= MAX_ORDERS:
            sets.orders.clear()
        sets.orders[key] = order
        return order
