"""The map, table and links of a wifi-hotspots dataset page."""
from __future__ import annotations

import ckan.plugins.toolkit as tk

from ckanext.gelsenkirchen import page_cache
from ckanext.gelsenkirchen.helpers import resources
from ckanext.gelsenkirchen.helpers.formatting import number

__all__ = ["gelsenkirchen_wifi_page"]

# DataStore columns of the hotspot table (wifi harvester), in table order.
# The labels are translated at render time; the literals are here so the
# message extractor finds them: tk._("Name") ...
WIFI_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("address", "Address"),
    ("postcode", "Postcode"),
    ("stadtteil", "District"),
    ("operator", "Operator"),
    ("ssid", "SSID"),
    ("access_points", "Access points"),
    ("status", "Status"),
)
_MARKER_FIELDS = ("name", "address", "postcode", "status", "operator")


def _marked_for_translation() -> None:  # pragma: no cover - only read by the extractor
    tk._("Name"), tk._("Address"), tk._("Postcode"), tk._("District"), tk._("Operator")
    tk._("SSID"), tk._("Access points"), tk._("Status")


def gelsenkirchen_wifi_page(pkg: dict, filter_text: str = "") -> dict:
    """Rows, columns, markers and links of a wifi-hotspots dataset page
    (derived once per version of the dataset: page_cache.py; the filter is
    applied per view)."""
    data = page_cache.for_dataset("wifi-hotspots", pkg, lambda: _wifi_data(pkg))
    needle = (filter_text or "").strip().lower()
    shown = data["rows"]
    if needle:
        shown = [r for r in shown
                 if any(needle in str(r.get(c) or "").lower() for c, _label in data["columns"])]
    return {**data, "rows": shown, "filter": filter_text or ""}


def _wifi_data(pkg: dict) -> dict:
    resource = resources.datastore_resource(pkg)
    rows: list[dict] = []
    columns: list[tuple[str, str]] = []
    total = 0
    if resource:
        rows, present, total = resources.datastore_rows(resource["id"], sort="name")
        columns = [(c, tk._(label)) for c, label in WIFI_COLUMNS if c in present]
    markers = []
    for row in rows:
        lat, lon = number(row.get("latitude")), number(row.get("longitude"))
        if lat is None or lon is None:
            continue
        markers.append({"lat": lat, "lon": lon,
                        **{k: "" if row.get(k) is None else str(row.get(k))
                           for k in _MARKER_FIELDS}})
    return {
        "resource": resource,
        "columns": columns,
        "rows": rows,
        "total": total,
        "markers": markers,
        "filter": "",
        "csv_url": resources.download_url(pkg, "csv"),
        "geojson_url": resources.download_url(pkg, "geojson"),
        "api_url": resource and resources.api_example(resource["id"], q="Rathaus", limit=5),
    }
