"""The doctor's checks of the search service (pgsolr or Solr): it answers,
and its schema has every field this extension indexes."""
from __future__ import annotations

from collections.abc import Callable
from urllib.parse import urlsplit

import ckan.plugins.toolkit as tk
import requests

from ckanext.gelsenkirchen import compat
from ckanext.gelsenkirchen.doctor.common import (
    TIMEOUT_SECONDS,
    CheckResult,
    _ini,
    _safe_url,
    _short,
)


def _search_server_kind(solr_url: str) -> str:
    """"pgsolr" when the ping answer names it (header or body), "Solr" otherwise."""
    try:
        res = requests.get(solr_url.rstrip("/") + "/admin/ping", params={"wt": "json"},
                           timeout=TIMEOUT_SECONDS)
    except requests.RequestException:
        return "Solr"
    headers = " ".join(f"{key} {value}" for key, value in res.headers.items())
    if "pgsolr" in headers.lower() or "pgsolr" in res.text[:4096].lower():
        return "pgsolr"
    return "Solr"


def check_search() -> CheckResult:
    """``solr_url`` answers a query and its schema version is one CKAN accepts."""
    from ckan.lib.search import SearchError, check_solr_schema_version
    from ckan.lib.search.common import make_connection

    name = "search"
    url = tk.config.get("solr_url") or ""
    port = urlsplit(url).port or 8983
    start = (f"start pgsolr (pgsolr serve --dsn postgresql://USER@HOST/gelsenkirchen_pgsolr "
             f"--port {port}) or Solr, or fix solr_url in {_ini()}")
    if not url:
        return CheckResult(name, False, "solr_url is not set", start)
    try:
        with compat.search_url_of_config():
            make_connection().search(q="*:*", rows=0)
    except Exception as exc:
        return CheckResult(name, False, f"cannot reach the search service at {_safe_url(url)}: "
                           f"{_short(exc)}", start)
    kind = _search_server_kind(url)
    try:
        with compat.search_url_of_config():
            accepted = check_solr_schema_version()
    except SearchError as exc:
        return CheckResult(name, False, f"{kind} at {_safe_url(url)}: {exc}",
                           f"load the schema of this CKAN ({compat.solr_schema_name()}) into the "
                           "core (pgsolr: run it with this CKAN installed; Solr: "
                           "ckan/config/solr/schema.xml or `pgsolr configset`)")
    except Exception as exc:
        return CheckResult(name, False, f"{kind} at {_safe_url(url)}: cannot read the schema: "
                           f"{_short(exc)}", "check the search service log")
    if not accepted:
        return CheckResult(name, False, f"{kind} at {_safe_url(url)} stopped answering", start)
    return CheckResult(name, True, f"{kind} at {_safe_url(url)} answers; schema version accepted")


def _served_schema(url: str) -> str:
    """The schema.xml the search service serves (Solr's managed schema API,
    else the classic file), as CKAN reads it for its version check."""
    auth = None
    if tk.config.get("solr_user"):
        auth = (tk.config.get("solr_user"), tk.config.get("solr_password") or "")
    base = url.rstrip("/")
    last: Exception | None = None
    for path, params in (("/schema", {"wt": "schema.xml"}),
                         ("/admin/file/", {"file": "schema.xml"})):
        try:
            res = requests.get(base + path, params=params, auth=auth, timeout=TIMEOUT_SECONDS)
            res.raise_for_status()
            return res.text
        except requests.RequestException as exc:
            last = exc
    raise RuntimeError(_short(last) if last else "no answer") from None


def missing_index_fields(schema_xml: str) -> dict[str, list[str]]:
    """Fields this extension indexes that ``schema_xml`` lacks, by what needs
    them. CKAN's schema ends with a catch-all dynamic field ``*`` (a single
    string), so a field counts only with the kind the extension needs."""
    from ckanext.gelsenkirchen.logic.search import FACET_FIELDS
    from pgsolr.schema import NUMERIC, STRING, TEXT, Field, Schema, addition_field_names

    def numeric(f: Field) -> bool:
        return f.kind in NUMERIC

    def facet(f: Field) -> bool:
        return f.kind == STRING and f.multi

    def text(f: Field) -> bool:
        return f.kind == TEXT

    schema = Schema(schema_xml)
    needs: list[tuple[str, list[str], Callable[[Field], bool]]] = [
        ("ckanext-spatial's bbox search (float fields of pgsolr/schema-addition.xml)",
         addition_field_names("float"), numeric),
        ("the facets (multi-valued string fields vocab_*)",
         [f for f in FACET_FIELDS if f.startswith("vocab_")], facet),
        ("the schema's own fields (text fields extras_*)", ["extras_contact_name"], text),
    ]
    missing = {}
    for why, names, fits in needs:
        lacking = [n for n in names if (f := schema.field(n)) is None or not fits(f)]
        if lacking:
            missing[why] = lacking
    return missing


def check_search_schema() -> CheckResult:
    """The search schema has every field this extension indexes."""
    name = "search schema"
    url = tk.config.get("solr_url") or ""
    if not url:
        return CheckResult(name, False, "solr_url is not set", "set solr_url")
    kind = _search_server_kind(url)
    try:
        missing = missing_index_fields(_served_schema(url))
    except Exception as exc:
        return CheckResult(name, False, f"cannot read the schema of {kind} at "
                           f"{_safe_url(url)}: {_short(exc)}", "see the search check above")
    if missing:
        detail = "; ".join(f"{', '.join(names)} for {why}" for why, names in missing.items())
        return CheckResult(name, False, f"{kind} at {_safe_url(url)} lacks {detail}",
                           "load the merged schema into the core (pgsolr print-schema prints "
                           "it; docs/search.md), reload the core, then ckan search-index rebuild")
    return CheckResult(name, True, f"{kind} at {_safe_url(url)} has every field the "
                       "extension indexes")
