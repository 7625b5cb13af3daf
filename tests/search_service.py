"""Which search service answers at a ``solr_url``: tests that state a
difference between pgsolr and Apache Solr ask here."""
from __future__ import annotations

import json
import urllib.request


def apache_solr_mode(solr_url: str) -> str | None:
    """``"std"`` or ``"solrcloud"`` when Apache Solr serves ``solr_url`` (a
    core or collection URL), ``None`` for pgsolr or nothing answering
    (pgsolr has no ``admin/info/system``)."""
    base = solr_url.rstrip("/").rsplit("/", 1)[0]
    try:
        with urllib.request.urlopen(f"{base}/admin/info/system?wt=json", timeout=10) as response:
            info = json.load(response)
    except (OSError, ValueError):
        return None
    return info.get("mode") if "lucene" in info else None
