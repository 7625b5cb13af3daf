"""Turning incoming Solr documents into what pgsolr stores.

A document becomes: ``stored`` (what /select returns), ``idx`` (typed
values of indexed non-text fields for ranges, sorting and facets, plus
``_has`` listing every field present), the raw strings of indexed text
fields (analysed into the tsvector by the store) and the exact values of
string fields (added to the tsvector verbatim as ``=field:value`` so that
equality filters and free text combine into one GIN-indexed tsquery).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from . import dates
from .errors import SolrError, bad_request
from .schema import (
    BOOL,
    DATE,
    FLOAT,
    INT,
    STRING,
    TEXT,
    UNSUPPORTED,
    Field,
    NGram,
    Schema,
    indexed_number,
)


@dataclass
class PreparedDoc:
    uid: str
    stored: dict[str, Any] = field(default_factory=dict)
    idx: dict[str, Any] = field(default_factory=dict)
    texts: dict[str, list[str]] = field(default_factory=dict)
    exact: dict[str, list[str]] = field(default_factory=dict)
    ngrams: dict[str, tuple[NGram, list[str]]] = field(default_factory=dict)


def _as_list(value: Any) -> list[Any]:
    if isinstance(value, (list, tuple, set)):
        return [v for v in value if v is not None]
    return [] if value is None else [value]


def _to_str(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return repr(value)
    return str(value)


def _convert(fld: Field, value: Any, uid: str) -> tuple[Any, Any] | None:
    """(stored value, idx value) for one value, or None to skip it."""
    def fail() -> SolrError:
        return bad_request(
            f"ERROR: [doc={uid}] Error adding field '{fld.name}'='{value}' "
            f"msg=Invalid value for {fld.kind} field")

    if fld.kind == TEXT:
        text = _to_str(value)
        return text, None
    if fld.kind in (INT, FLOAT, DATE, BOOL) and isinstance(value, str) and not value.strip():
        return None   # lenient: empty strings in typed fields are dropped
    if fld.kind == INT:
        try:
            whole = int(value) if not isinstance(value, str) else int(float(value.strip()))
        except (TypeError, ValueError, OverflowError):
            raise fail() from None
        return whole, whole
    if fld.kind == FLOAT:
        try:
            num = float(value)
        except (TypeError, ValueError):
            raise fail() from None
        if not math.isfinite(num):
            raise fail()
        try:
            return num, indexed_number(fld, num)
        except OverflowError:
            raise fail() from None
    if fld.kind == DATE:
        if isinstance(value, datetime):   # naive: UTC
            value = dates.solr_format(value.astimezone(UTC) if value.tzinfo else value)
        # as Solr: NOW or 2024-01-02T03:04:05Z, each with date math after it
        dt = dates.parse_date_math(str(value))
        return dates.solr_format(dt), dates.sortable(dt)
    if fld.kind == BOOL:
        flag = value if isinstance(value, bool) else str(value).strip().lower() == "true"
        return flag, flag
    text = _to_str(value)
    return text, text


def prepare(schema: Schema, doc: dict[str, Any]) -> PreparedDoc:  # noqa: C901 - validation, copyField and conversion in one pass; to split by stage
    """Validate and normalise one document (applying copyField rules)."""
    key = schema.unique_key
    uid_values = _as_list(doc.get(key))
    if not uid_values or str(uid_values[0]) == "":
        raise bad_request(f"Document is missing mandatory uniqueKey field: {key}")
    uid = _to_str(uid_values[0])
    out = PreparedDoc(uid=uid)

    values: dict[str, list[Any]] = {}
    for name, value in doc.items():
        if schema.field(name) is None:
            raise bad_request(f"ERROR: [doc={uid}] unknown field '{name}'")
        vals = _as_list(value)
        if not vals:
            continue
        values.setdefault(name, []).extend(vals)
    # copyField: destinations receive the raw source values
    for name in list(values):
        for dest in schema.copy_dests(name):
            if schema.field(dest) is not None:
                values.setdefault(dest, []).extend(values[name])
    for name, declared in schema.fields.items():
        if declared.default is not None and name not in values:
            values[name] = [declared.default]

    has: list[str] = []
    for name, vals in values.items():
        fld = schema.field(name)
        assert fld is not None
        converted = [c for c in (_convert(fld, v, uid) for v in vals) if c is not None]
        if not converted:
            continue
        if not fld.multi and len(converted) > 1:
            raise bad_request(
                f"ERROR: [doc={uid}] multiple values encountered for non multiValued "
                f"field {name}: {[c[0] for c in converted]}")
        stored = [c[0] for c in converted]
        if fld.stored:
            out.stored[name] = stored if fld.multi else stored[0]
        if fld.indexed and fld.kind != UNSUPPORTED:   # stored only (schema.UNSUPPORTED)
            has.append(name)
            if fld.kind == TEXT and fld.ngram is not None:
                out.ngrams[name] = (fld.ngram, stored)
            elif fld.kind == TEXT:
                out.texts[name] = stored
            else:
                # a value counts once per document (facets count documents,
                # as in Solr: two CSV resources make one "CSV")
                idx = list(dict.fromkeys(c[1] for c in converted))
                out.idx[name] = idx if fld.multi else idx[0]
                if fld.kind == STRING:
                    out.exact[name] = idx
    out.idx["_has"] = sorted(has)
    return out
