"""Solr-shaped errors.

Every error the service reports is a :class:`SolrError`; the HTTP layer turns
it into Solr's JSON error body. Messages are written to look like the ones
Apache Solr produces, because clients (CKAN, pysolr) match on their text.
"""
from __future__ import annotations

from typing import Any


class SolrError(Exception):
    """An error reported to the client with a Solr error body."""

    def __init__(self, msg: str, code: int = 400,
                 error_class: str = "org.apache.solr.common.SolrException"):
        super().__init__(msg)
        self.msg = msg
        self.code = code
        self.error_class = error_class

    def body(self, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return {
            "responseHeader": {"status": self.code, "QTime": 0,
                               "params": params or {}},
            "error": {
                "metadata": ["error-class", self.error_class,
                             "root-error-class", self.error_class],
                "msg": self.msg,
                "code": self.code,
            },
        }


def syntax_error(msg: str) -> SolrError:
    """A query that cannot be parsed (Solr wraps SyntaxError this way)."""
    return SolrError("org.apache.solr.search.SyntaxError: " + msg, 400,
                     "org.apache.solr.search.SyntaxError")


def bad_request(msg: str) -> SolrError:
    return SolrError(msg, 400)


MAX_INT = 2**31 - 1   # Solr parses integer parameters as Java ints


def int_param(value: object, name: str) -> int:
    """An integer request parameter, as Solr reads it (a Java int)."""
    try:
        number = int(str(value).strip())
    except ValueError:
        number = MAX_INT + 1
    if abs(number) > MAX_INT:
        raise bad_request(f"Invalid integer value '{value}' for parameter '{name}'")
    return number
