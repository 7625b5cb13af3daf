"""Which search service the suite runs on (SEARCH=pgsolr, solr or solrcloud).

make test points CKAN at the backend through test.ini's solr_url or, on
another port, CKAN_SOLR_URL (scripts/lib.sh search_env). Tests that state a
difference between pgsolr and Apache Solr, or that need both, ask here.
"""
from __future__ import annotations

import json
import os
import urllib.request


def suite_solr_url() -> str:
    """The solr_url of the suite's CKAN (CKAN_SOLR_URL overrides test.ini)."""
    import ckan.plugins.toolkit as tk

    return os.environ.get("CKAN_SOLR_URL") or str(tk.config.get("solr_url") or "")


def apache_solr_version(core_url: str) -> str | None:
    """Apache Solr's version when Apache Solr serves ``core_url``, else None
    (pgsolr has no /admin/info/system)."""
    base = core_url.rsplit("/", 1)[0]
    try:
        with urllib.request.urlopen(f"{base}/admin/info/system?wt=json", timeout=5) as r:
            return str(json.load(r)["lucene"]["solr-spec-version"])
    except Exception:
        return None


def on_apache_solr() -> bool:
    return apache_solr_version(suite_solr_url()) is not None
