"""Limits of one request's queries (docs/pgsolr.md "Limits") and what a
request has used of them."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from luqum import tree

from .errors import bad_request, syntax_error

MAX_QUERY_LEN = 20000
# Limits of one request (q, every fq and facet.query together), see
# docs/pgsolr.md "Limits". Solr's maxBooleanClauses: a clause is one term,
# phrase, range or pattern in one field (dismax: per qf field).
MAX_CLAUSES = 1024
MAX_NESTING = 100          # levels of (), +, -, NOT and field: in one query
MAX_PATTERN_LEN = 256      # characters of one wildcard or regular expression term
# wildcard and regular expression terms that no index answers read every
# document of the core (text fields: ~0.1 ms per document)
MAX_SCAN_TERMS = 4


@dataclass
class Budget:
    """What the queries of one request have used of its limits. ``core_docs``
    (when given) counts the core's documents; terms that read every document
    are refused when it exceeds ``max_scan_docs``."""
    clauses: int = 0
    scans: int = 0
    max_scan_docs: int | None = None
    core_docs: Callable[[], int] | None = None

    def clause(self) -> None:
        self.clauses += 1
        if self.clauses > MAX_CLAUSES:
            raise bad_request(f"Query contains too many clauses; maxClauseCount is set to {MAX_CLAUSES}")

    @staticmethod
    def pattern(raw: str) -> None:
        if len(raw) > MAX_PATTERN_LEN:
            raise syntax_error(f"Cannot parse '{raw[:50]}...': wildcard or regular expression "
                               f"term longer than {MAX_PATTERN_LEN} characters")

    def scan(self, raw: str, text: bool) -> None:
        """A term that reads every document of the core; of a text field
        (every lexeme of every document) or else of a string field (its
        values, about 50 times cheaper)."""
        self.scans += 1
        if self.scans > MAX_SCAN_TERMS:
            raise syntax_error(f"Cannot parse '{raw}': more than {MAX_SCAN_TERMS} leading-wildcard, "
                               "infix-wildcard or regular expression terms in one request")
        if text and self.max_scan_docs is not None and self.core_docs is not None \
                and self.core_docs() > self.max_scan_docs:
            raise syntax_error(
                f"Cannot parse '{raw}': leading-wildcard, infix-wildcard and regular expression "
                f"terms on text fields read every document and are not allowed on cores with "
                f"more than {self.max_scan_docs} documents")


def _check_nesting(node: tree.Item, text: str) -> None:
    """Refuse queries nested deeper than MAX_NESTING (the compiler recurses)."""
    stack = [(node, 0)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_NESTING:
            raise syntax_error(f"Cannot parse '{text[:50]}...': query nested more than "
                               f"{MAX_NESTING} levels deep")
        stack.extend((child, depth + 1) for child in item.children)
