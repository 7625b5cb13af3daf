"""What the dataset pages read of a dataset's resources: the DataStore
table, its rows, the download links and an API example."""
from __future__ import annotations

import logging
from typing import Any
from urllib.parse import urlencode

import ckan.plugins.toolkit as tk

from ckanext.gelsenkirchen import compat

log = logging.getLogger(__name__)


def datastore_resource(pkg: dict) -> dict | None:
    for resource in pkg.get("resources") or []:
        if resource.get("datastore_active") in (True, "true", "True"):
            return resource
    return None


def download_url(pkg: dict, fmt: str) -> str | None:
    """The address of the dataset's download of format ``fmt``.

    A file resource comes first: the harvesters' CSV file neutralises
    spreadsheet formulas, the DataStore table's dump does not; the dump is
    the fallback for datasets without such a file. Only URLs CKAN accepts as
    such (``h.is_url``: http, https, ftp by default) are links, never
    ``javascript:``.
    """
    matching = [r for r in pkg.get("resources") or []
                if (r.get("format") or "").lower() == fmt.lower()]
    matching.sort(key=lambda r: r.get("url_type") == "datastore" or bool(r.get("datastore_active")))
    for resource in matching:
        url = resource.get("url") or ""
        if tk.h.is_url(url):
            return url
    return None


def datastore_rows(resource_id: str, **extra: Any) -> tuple[list[dict], list[str], int]:
    """Rows (at most ``map.max_rows``), column ids and total of a DataStore
    table; nothing when it is missing, not readable or the DataStore is down."""
    limit = tk.asint(tk.config.get("ckanext.gelsenkirchen.map.max_rows", 5000))
    try:
        result = tk.get_action("datastore_search")(
            {}, {"resource_id": resource_id, "limit": limit, **extra})
    except (tk.ObjectNotFound, tk.NotAuthorized, tk.ValidationError):
        return [], [], 0
    except Exception:  # DataStore not configured or down: the page still renders
        log.warning("datastore_search failed for %s", resource_id, exc_info=True)
        return [], [], 0
    columns = [f["id"] for f in result.get("fields", []) if f["id"] != "_id"]
    return compat.datastore_records(result), columns, result.get("total", 0)


def api_example(resource_id: str, **params: Any) -> str:
    query = urlencode({"resource_id": resource_id, **params})
    return tk.h.url_for("api.action", ver=3, logic_function="datastore_search",
                        qualified=True) + "?" + query
