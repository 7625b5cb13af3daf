"""The DataStore table of a harvested dataset: every write and read in one place.

* :func:`ensure_table` creates the table (or adds new columns) through the
  DataStore's API, ``datastore_create``, with the harvester's stable columns
  and primary key.
* :func:`replace_rows` replaces every row in **one transaction**: the rows
  travel as one JSON document that PostgreSQL expands
  (``json_populate_recordset`` over the table's row type), one round trip
  for any number of rows, and a failure leaves the previous rows in place.
  The DataStore API has no such call (a delete and batched upserts are
  several transactions), hence this one statement on its write engine.
* :func:`read_rows` reads every row, typed by the columns (the history the
  broadband harvester keeps across runs).
"""
from __future__ import annotations

import datetime
import decimal
import json
from collections.abc import Sequence
from typing import Any

from ckan.types import Context


def ensure_table(resource_id: str, fields: Sequence[dict[str, Any]], primary_key: str,
                 context: Context) -> None:
    """Create the table with ``fields`` unless it has all of them already."""
    import ckan.plugins.toolkit as tk

    try:
        info = tk.get_action("datastore_info")(Context(**context), {"id": resource_id})
        present = {f["id"] for f in info.get("fields", [])}
    except (tk.ObjectNotFound, tk.ValidationError):
        present = set()
    if {f["id"] for f in fields} <= present:
        return
    tk.get_action("datastore_create")(Context(**context), {
        "resource_id": resource_id, "force": True, "fields": list(fields),
        "primary_key": [primary_key], "calculate_record_count": False,
    })


def replace_rows(resource_id: str, fields: Sequence[dict[str, Any]],
                 rows: Sequence[dict[str, Any]]) -> None:
    """Replace all rows of the table in one transaction (the DataStore's
    full-text trigger fills ``_full_text``)."""
    import sqlalchemy as sa
    from ckanext.datastore.backend.postgres import get_write_engine, identifier

    table = identifier(resource_id)
    columns = ", ".join(identifier(f["id"]) for f in fields)
    payload = json.dumps([{f["id"]: row.get(f["id"]) for f in fields} for row in rows],
                         ensure_ascii=False, default=_json_default)
    with get_write_engine().begin() as conn:
        conn.execute(sa.text("SET LOCAL statement_timeout TO 120000"))
        conn.execute(sa.text(f"DELETE FROM {table}"))  # noqa: S608 - quoted identifier
        if rows:
            conn.execute(sa.text(
                f"INSERT INTO {table} ({columns}) SELECT {columns} "  # noqa: S608
                f"FROM json_populate_recordset(NULL::{table}, CAST(:rows AS json))"),
                {"rows": payload})


def read_rows(resource_id: str, fields: Sequence[dict[str, Any]]) -> list[dict[str, Any]] | None:
    """Every row of the table, with the ``fields`` it has, as JSON values
    (None values left out); None when there is no table."""
    import sqlalchemy as sa
    from ckanext.datastore.backend.postgres import get_write_engine, identifier

    types = {f["id"]: f["type"] for f in fields}
    with get_write_engine().connect() as conn:
        if conn.execute(sa.text("SELECT to_regclass(:name)"),
                        {"name": identifier(resource_id)}).scalar() is None:
            return None
        present = {r[0] for r in conn.execute(sa.text(
            "SELECT column_name FROM information_schema.columns WHERE table_name = :t"),
            {"t": resource_id})}
        columns = [f["id"] for f in fields if f["id"] in present]
        result = conn.execute(sa.text(
            f"SELECT {', '.join(identifier(c) for c in columns)} "  # noqa: S608
            f"FROM {identifier(resource_id)}"))
        return [{column: _from_db(value, types[column])
                 for column, value in zip(columns, values, strict=True) if value is not None}
                for values in result]


def _from_db(value: Any, column_type: str) -> Any:
    if column_type == "int":
        return int(value)
    if isinstance(value, decimal.Decimal):
        return float(value)
    if isinstance(value, datetime.datetime):
        return value.isoformat()[:10] if column_type == "date" else value.isoformat()
    if isinstance(value, datetime.date):
        return value.isoformat()
    return value


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    raise TypeError(f"not JSON serialisable: {value!r}")
