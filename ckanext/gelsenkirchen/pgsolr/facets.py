"""Facet counting in SQL over the materialised match set ``m``."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from . import dates
from .errors import bad_request
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


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"Invalid integer for facet.{name}: {value}") from None


def make_spec(fld: Field, key: str, column: str, get: Any) -> FacetSpec:
    name = fld.name
    limit = _int(_param(get, "limit", name, 100), "limit")
    sort = str(_param(get, "sort", name, "count" if limit > 0 else "index")).lower()
    if sort in ("true", "count"):
        sort = "count"
    elif sort in ("false", "index", "lex"):
        sort = "index"
    else:
        raise bad_request(f"Unknown facet sort value: {sort}")
    missing = str(_param(get, "missing", name, "false")).lower() == "true"
    return FacetSpec(fld, key, column, limit,
                     _int(_param(get, "mincount", name, 0), "mincount"),
                     _int(_param(get, "offset", name, 0), "offset"),
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
