"""Facet counting in SQL over the materialised match set ``m``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import dates
from .errors import bad_request, int_param
from .schema import DATE, Field


@dataclass
class FacetSpec:
    field: Field
    key: str          # name in the response (may differ via {!key=..})
    column: str       # column of ``m`` holding the field's idx value
    limit: int
    mincount: int
    offset: int
    sort: str         # "count" | "index"
    prefix: str | None
    missing: bool


def _param(get: Any, name: str, field: str, default: Any) -> Any:
    value = get(f"f.{field}.facet.{name}")
    if value is None:
        value = get(f"facet.{name}")
    return default if value is None else value


def make_spec(fld: Field, key: str, column: str, get: Any) -> FacetSpec:
    name = fld.name
    limit = int_param(_param(get, "limit", name, 100), "facet.limit")
    sort = str(_param(get, "sort", name, "count" if limit > 0 else "index")).lower()
    if sort in ("true", "count"):
        sort = "count"
    elif sort in ("false", "index", "lex"):
        sort = "index"
    else:
        raise bad_request(f"Unknown facet sort value: {sort}")
    missing = str(_param(get, "missing", name, "false")).lower() == "true"
    return FacetSpec(fld, key, column, limit,
                     int_param(_param(get, "mincount", name, 0), "facet.mincount"),
                     int_param(_param(get, "offset", name, 0), "facet.offset"),
                     sort, _param(get, "prefix", name, None), missing)


def facet_sql(spec: FacetSpec, core: str) -> tuple[str, list[Any]]:
    """A scalar subquery returning [[value, count], ...] as json."""
    col = spec.column
    params: list[Any] = []
    if spec.field.multi:
        source = (f"FROM m, jsonb_array_elements_text(CASE WHEN jsonb_typeof(m.{col}) = 'array' "
                  f"THEN m.{col} ELSE '[]'::jsonb END) AS e(v)")
        all_source = ("FROM pgsolr_doc d, jsonb_array_elements_text(CASE WHEN "
                      "jsonb_typeof(d.idx->%s) = 'array' THEN d.idx->%s ELSE '[]'::jsonb END) AS e(v) "
                      "WHERE d.core = %s")
        all_params = [spec.field.name, spec.field.name, core]
        value = "e.v"
        not_null = "TRUE"
    else:
        source = "FROM m"
        value = f"m.{col}"
        not_null = f"m.{col} IS NOT NULL"
        all_source = "FROM pgsolr_doc d WHERE d.core = %s AND d.idx->>%s IS NOT NULL"
        all_params = [core, spec.field.name]
    prefix_cond = ""
    prefix_params: list[Any] = []
    if spec.prefix:
        escaped = spec.prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        prefix_cond = " AND v LIKE %s"
        prefix_params = [escaped + "%"]
    counted = f"SELECT {value} AS v, count(*) AS c {source} WHERE {not_null} GROUP BY 1"  # noqa: S608 - fixed templates, column names are generated (f0, f1, ...)
    if spec.mincount <= 0:
        # Solr lists zero-count values of the whole index when mincount=0
        all_value = "e.v" if spec.field.multi else "d.idx->>%s"
        if not spec.field.multi:
            all_params = [spec.field.name] + all_params
        counted = (f"SELECT v, sum(c)::bigint AS c FROM ({counted} UNION ALL "  # noqa: S608 - fixed templates
                   f"SELECT DISTINCT {all_value}, 0 {all_source}) AS u GROUP BY v")
        params.extend(all_params)
    order = 'c DESC, v COLLATE "C"' if spec.sort == "count" else 'v COLLATE "C"'
    limit = "" if spec.limit < 0 else " LIMIT %s"
    sql = (f"(SELECT COALESCE(json_agg(json_build_array(v, c) ORDER BY {order}), '[]'::json) "  # noqa: S608 - fixed templates
           f"FROM (SELECT v, c FROM ({counted}) AS cnt WHERE c >= %s{prefix_cond} "
           f"ORDER BY {order}{limit} OFFSET %s) AS x)")
    params.append(max(spec.mincount, 0))
    params.extend(prefix_params)
    if spec.limit >= 0:
        params.append(spec.limit)
    params.append(max(spec.offset, 0))
    if spec.missing:
        sql = f"json_build_array({sql}, (SELECT count(*) FROM m WHERE m.{col} IS NULL))"  # noqa: S608 - fixed templates
    return sql, params


def format_counts(spec: FacetSpec, rows: Any) -> list[Any]:
    """Flatten to Solr's [v1, c1, v2, c2, ...]."""
    if spec.field.is_text:  # not faceted (see search.py), also with facet.missing
        return []
    missing = None
    if spec.missing:
        rows, missing = rows
    out: list[Any] = []
    for value, count in rows:
        if spec.field.kind == DATE:
            try:
                value = dates.solr_format(dates.parse_iso(value))
            except Exception:  # noqa: BLE001 - keep the raw value
                pass
        out.extend([value, int(count)])
    if missing is not None:
        out.extend([None, int(missing)])
    return out


# -- counting over the complement ----------------------------------------
# For a match set covering most of a core, counting the documents NOT
# matched is much cheaper: count(m, v) = total(core, v) - count(core \ m, v).
# The totals are computed once per core write generation (see
# Store.bump_generation) and read in the same REPEATABLE READ snapshot as the
# query, so the result is exact.

def complement_ok(spec: FacetSpec) -> bool:
    """Specs whose counts can be derived from totals (facet.missing needs m)."""
    return not spec.field.is_text and not spec.missing


def _values_sql(spec: FacetSpec, table: str, col: str) -> str:
    """SELECT v, count(*) over ``table`` whose column ``col`` holds the
    field's idx value (idx->name for multi-valued fields, idx->>name else);
    the same expressions as facet_sql."""
    if spec.field.multi:
        return (f"SELECT e.v, count(*) AS c FROM {table} AS t, jsonb_array_elements_text("  # noqa: S608 - fixed templates, generated names
                f"CASE WHEN jsonb_typeof(t.{col}) = 'array' THEN t.{col} ELSE '[]'::jsonb END) "
                "AS e(v) GROUP BY 1")
    return f"SELECT t.{col} AS v, count(*) AS c FROM {table} AS t WHERE t.{col} IS NOT NULL GROUP BY 1"  # noqa: S608 - fixed templates


def column_expr(spec: FacetSpec) -> tuple[str, list[Any]]:
    return ("idx->%s", [spec.field.name]) if spec.field.multi else ("idx->>%s", [spec.field.name])


def counts_json_sql(spec: FacetSpec, table: str, col: str) -> str:
    return (f"(SELECT COALESCE(json_agg(json_build_array(v, c)), '[]'::json) "  # noqa: S608 - fixed templates
            f"FROM ({_values_sql(spec, table, col)}) AS x)")


def totals_sql(specs: list[FacetSpec], core: str) -> tuple[str, list[Any]]:
    """One statement: the core's document count, then [[value, count], ...]
    over the whole core for each spec."""
    cols: list[str] = []
    params: list[Any] = []
    for i, spec in enumerate(specs):
        expr, prm = column_expr(spec)
        cols.append(f"{expr} AS f{i}")
        params.extend(prm)
    params.append(core)
    sql = (f"WITH a AS MATERIALIZED (SELECT {', '.join(cols)} FROM pgsolr_doc WHERE core = %s) "  # noqa: S608 - generated names
           "SELECT (SELECT count(*) FROM a)"
           + "".join(", " + counts_json_sql(s, "a", f"f{i}") for i, s in enumerate(specs)))
    return sql, params


def from_complement(spec: FacetSpec, totals: dict[str, int], comp: Any) -> list[list[Any]]:
    """The rows facet_sql would return, from the core totals and the counts
    over the complement of the match set."""
    counts = dict(totals)
    for v, c in comp:
        counts[v] -= int(c)
    return rank_counts(spec, counts)


def rank_counts(spec: FacetSpec, counts: dict[str, int]) -> list[list[Any]]:
    """facet_sql's rows from the count of every value of the core: mincount,
    prefix, sort, offset and limit applied as the SQL does."""
    floor = max(spec.mincount, 0)
    # mincount <= 0: every value of the core, as facet_sql's UNION ALL
    items = [(v, c) for v, c in counts.items() if c >= floor]
    if spec.prefix:
        items = [(v, c) for v, c in items if v.startswith(spec.prefix)]
    # COLLATE "C" orders by UTF-8 bytes, i.e. by code point, as Python does
    if spec.sort == "count":
        items.sort(key=lambda vc: (-vc[1], vc[0]))
    else:
        items.sort(key=lambda vc: vc[0])
    offset = max(spec.offset, 0)
    end = None if spec.limit < 0 else offset + spec.limit
    return [[v, c] for v, c in items[offset:end]]
