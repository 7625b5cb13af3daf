"""Solr function queries (as used by {!frange}, bf and boost) -> SQL.

Only arithmetic over numeric fields and constants is supported; that covers
ckanext-spatial's solr-bbox overlap function. The function syntax is tiny
(name(arg, ...), numbers, field names), so a small tokenizer suffices.

bf and boost come from CKAN's public package_search API. The SQL of every
function therefore uses each of its arguments exactly once (NULLIF instead
of ``CASE WHEN arg ... THEN ... arg``), so that the SQL grows linearly with
the text: a repeated argument doubles the SQL at each level of nesting.
The text itself is capped in length (MAX_FUNCTION_LEN) and nesting
(MAX_DEPTH).
"""
from __future__ import annotations

import re
from typing import Any

from .errors import bad_request, syntax_error
from .schema import NUMERIC, Schema, require_supported

_TOKEN_RE = re.compile(
    r"\s*(?:(?P<num>[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
    r"|(?P<name>[A-Za-z_][\w.\-]*)|(?P<punct>[(),]))")

# Numeric fields of pgsolr's schema addition (ckanext-spatial solr-bbox) that
# have their own float8 columns in pgsolr_doc.
COLUMN_FIELDS = ("minx", "maxx", "miny", "maxy", "bbox_area")

_VARIADIC = {"add": "+", "sum": "+", "mul": "*", "product": "*"}
_GREATEST = {"max": "GREATEST", "min": "LEAST"}
MAX_DEPTH = 50
# a function's text; ckanext-spatial's overlap function has ~200 characters
MAX_FUNCTION_LEN = 2000
# The largest negative float8: GREATEST(x, it) is it exactly when x < 0
# (every negative float8 is <= it, and 0 and -0 are above it).
_NEG_TINY = "'-4.9406564584124654e-324'::float8"


def field_value_sql(schema: Schema, name: str) -> tuple[str, list[Any]]:
    """A numeric field's value; 0 when missing, as Solr's function queries."""
    field = schema.field(name)
    if field is None:
        raise bad_request(f"undefined field {name}")
    require_supported(field)
    if field.kind not in NUMERIC or field.multi:
        raise bad_request(
            f"can not use FieldCache on multivalued or non-numeric field: {name}")
    if name in COLUMN_FIELDS and field.kind in NUMERIC:
        # a real float8 column (see store.COLUMN_FIELDS): no jsonb lookup per row
        return f"COALESCE({name}, 0)", []
    return "COALESCE((idx->>%s)::float8, 0)", [name]


_NUM = r"([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)"
# ckanext-spatial solr-bbox's overlap ratio (SolrBBoxSearchBackend), spaces removed
_BBOX_OVERLAP_RE = re.compile(
    rf"div\(mul\(mul\(max\(0,sub\(min\({_NUM},maxx\),max\({_NUM},minx\)\)\),"
    rf"max\(0,sub\(min\({_NUM},maxy\),max\({_NUM},miny\)\)\)\),{_NUM}\),"
    rf"add\({_NUM},mul\(sub\(maxy,miny\),sub\(maxx,minx\)\)\)\)")


def overlap_prefilter(text: str, schema: Schema) -> tuple[str, list[Any]] | None:
    """For solr-bbox's overlap ratio, a cheap condition that every document
    with a ratio > 0 satisfies: its box intersects the query box. Evaluated
    on the float columns before the function (a pure prefilter)."""
    m = _BBOX_OVERLAP_RE.fullmatch(re.sub(r"\s+", "", text))
    if m is None or float(m.group(5)) <= 0 or any((f := schema.field(name)) is None or f.kind not in NUMERIC
                        for name in COLUMN_FIELDS[:4]):
        return None
    qmaxx, qminx, qmaxy, qminy = (float(m.group(i)) for i in range(1, 5))
    return ("(COALESCE(maxx, 0) > %s AND COALESCE(minx, 0) < %s "
            "AND COALESCE(maxy, 0) > %s AND COALESCE(miny, 0) < %s)",
            [qminx, qmaxx, qminy, qmaxy])


class _Parser:
    def __init__(self, text: str, schema: Schema):
        self.text = text
        self.schema = schema
        self.tokens = self._tokenize(text)
        self.pos = 0

    def _tokenize(self, text: str) -> list[tuple[str, str]]:
        tokens: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN_RE.match(text, pos)
            if not m or m.end() == pos:
                raise syntax_error(f"Expected identifier at pos {pos} str='{text}'")
            kind = m.lastgroup or ""
            tokens.append((kind, m.group(kind)))
            pos = m.end()
        return tokens

    def _next(self) -> tuple[str, str]:
        if self.pos >= len(self.tokens):
            raise syntax_error(f"Unexpected end of function query '{self.text}'")
        tok = self.tokens[self.pos]
        self.pos += 1
        return tok

    def parse(self) -> tuple[str, list[Any]]:
        sql, params = self.expr(0)
        if self.pos != len(self.tokens):
            raise syntax_error(f"Unexpected text after function: '{self.text}'")
        return sql, params

    def expr(self, depth: int) -> tuple[str, list[Any]]:
        if depth > MAX_DEPTH:
            raise syntax_error(f"function query nested too deeply (more than {MAX_DEPTH} levels)")
        kind, value = self._next()
        if kind == "num":
            return "%s::float8", [float(value)]
        if kind != "name":
            raise syntax_error(f"Expected identifier in function query '{self.text}'")
        if self.pos < len(self.tokens) and self.tokens[self.pos][1] == "(":
            self.pos += 1
            args: list[tuple[str, list[Any]]] = []
            if self.tokens[self.pos:self.pos + 1] == [("punct", ")")]:
                self.pos += 1
            else:
                while True:
                    args.append(self.expr(depth + 1))
                    _, sep = self._next()
                    if sep == ")":
                        break
                    if sep != ",":
                        raise syntax_error(f"Expected ',' or ')' in '{self.text}'")
            return self.call(value.lower(), args)
        return field_value_sql(self.schema, value)

    def call(self, name: str, args: list[tuple[str, list[Any]]]) -> tuple[str, list[Any]]:
        sqls = [a[0] for a in args]
        params = [p for a in args for p in a[1]]

        def need(n: int) -> None:
            if len(args) != n:
                raise syntax_error(f"{name} expects {n} arguments")

        if name in _VARIADIC and args:
            return "(" + f" {_VARIADIC[name]} ".join(sqls) + ")", params
        if name in _GREATEST and args:
            return f"{_GREATEST[name]}(" + ", ".join(sqls) + ")", params
        if name == "sub":
            need(2)
            return f"({sqls[0]} - {sqls[1]})", params
        if name == "div":
            need(2)
            # Solr yields Infinity/NaN; NULL keeps PostgreSQL from raising
            # and makes frange comparisons false.
            return f"({sqls[0]} / NULLIF({sqls[1]}, 0))", params
        if name == "abs":
            need(1)
            return f"abs({sqls[0]})", params
        if name == "sqrt":
            need(1)
            # NULL for a negative argument (as div by 0), with the argument once
            return f"sqrt(NULLIF(GREATEST({sqls[0]}, {_NEG_TINY}), {_NEG_TINY}))", params
        if name == "pow":
            need(2)
            return f"power({sqls[0]}, {sqls[1]})", params
        if name == "linear":
            need(3)
            return f"({sqls[0]} * {sqls[1]} + {sqls[2]})", params
        if name == "recip":
            need(4)
            x, m, a, b = sqls
            # a/(m*x+b); the parameters follow the placeholders' order
            return (f"({a} / NULLIF({m} * {x} + {b}, 0))",
                    args[2][1] + args[1][1] + args[0][1] + args[3][1])
        if name == "field":
            need(1)
            return sqls[0], params
        if name == "def":
            need(2)
            return f"COALESCE({sqls[0]}, {sqls[1]})", params
        raise bad_request(f"Unknown function {name} in FunctionQuery('{self.text}')")


def compile_function(text: str, schema: Schema) -> tuple[str, list[Any]]:
    """SQL float8 expression (with its parameters) for a function query."""
    if len(text) > MAX_FUNCTION_LEN:
        raise bad_request(f"function query too long: {len(text)} characters, "
                          f"at most {MAX_FUNCTION_LEN}")
    return _Parser(text, schema).parse()
