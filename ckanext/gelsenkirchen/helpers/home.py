"""The home page: key figures from the newest harvested datasets, the
newest datasets and the theme list (page_cache.py)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.gelsenkirchen import dataset_types, page_cache
from ckanext.gelsenkirchen.helpers.formatting import number
from ckanext.gelsenkirchen.logic import search
from ckanext.gelsenkirchen.logic.messages import current_lang

log = logging.getLogger(__name__)

__all__ = ["gelsenkirchen_key_figures", "gelsenkirchen_home_search",
           "gelsenkirchen_theme_label"]

# Derived dataset fields written by the harvesters (schemas/wifi_hotspots.yaml,
# schemas/broadband_coverage.yaml). The first name present wins.
_WIFI_COUNT_FIELDS = ("hotspot_count",)
_WIFI_DATE_FIELDS = ("provenance_harvested_at", "metadata_modified")
_BB_DATE_FIELDS = ("reference_date",)
_BB_SHARE_1000_FIELDS = ("households_1gbit_share",)
_BB_SHARE_50_FIELDS = ("households_50mbit_share",)
_BB_SCHOOLS_FIBRE_FIELDS = ("schools_connected",)
_BB_SCHOOLS_TOTAL_FIELDS = ("schools_total",)

def _cached(key: str, compute: Callable[[], Any]) -> Any:
    # once per version of the public datasets, at most home.cache_seconds (page_cache.py)
    seconds = tk.asint(tk.config.get("ckanext.gelsenkirchen.home.cache_seconds", 300))
    return page_cache.for_portal(key, compute, seconds)


def _first(data: dict, names: tuple[str, ...]) -> Any:
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return value
    return None


def _search(**data_dict: Any) -> dict:
    try:
        return tk.get_action("package_search")({}, data_dict)
    except Exception:  # search down: the page still renders without the block
        log.warning("package_search for the home page failed", exc_info=True)
        return {"results": [], "count": 0, "search_facets": {}}


def _latest_of_type(dataset_type: str) -> dict | None:
    result = _search(fq=f'+dataset_type:"{dataset_type}"', rows=1,
                     sort="metadata_modified desc", include_private=False)
    return result["results"][0] if result["results"] else None


def _hotspot_figure() -> dict | None:
    # Hotspots are counted over every public hotspot collection (city, Freifunk,
    # ...): the figure links to the one dataset, or to the list when several.
    wifi_sets = [d for d in _search(fq=f'+dataset_type:"{dataset_types.WIFI}"', rows=1000,
                                    sort="metadata_modified desc",
                                    include_private=False)["results"]
                 if number(_first(d, _WIFI_COUNT_FIELDS)) is not None]
    if not wifi_sets:
        return None
    dates = [str(d) for d in (_first(w, _WIFI_DATE_FIELDS) for w in wifi_sets) if d]
    only = wifi_sets[0] if len(wifi_sets) == 1 else None
    return {"key": "hotspots", "unit": "", "type": dataset_types.WIFI,
            "value": int(sum(number(_first(w, _WIFI_COUNT_FIELDS)) or 0 for w in wifi_sets)),
            "dataset": only["name"] if only else None,
            "title": (only.get("title") or only["name"]) if only else "",
            "date": max(dates) if dates else None}


def _broadband_figures() -> list[dict]:
    broadband = _latest_of_type(dataset_types.BROADBAND)
    if not broadband:
        return []
    figures = []
    base = {"dataset": broadband["name"], "type": broadband["type"],
            "date": _first(broadband, _BB_DATE_FIELDS),
            "title": broadband.get("title") or broadband["name"]}
    for key, names in (("gigabit", _BB_SHARE_1000_FIELDS), ("50mbit", _BB_SHARE_50_FIELDS)):
        value = number(_first(broadband, names))
        if value is not None:
            figures.append({**base, "key": key, "value": value, "unit": "%"})
    schools = number(_first(broadband, _BB_SCHOOLS_FIBRE_FIELDS))
    if schools is not None:
        total = number(_first(broadband, _BB_SCHOOLS_TOTAL_FIELDS))
        figures.append({**base, "key": "schools", "value": int(schools), "unit": "",
                        "total": int(total) if total is not None else None})
    return figures


def _compute_key_figures() -> list[dict]:
    hotspots = _hotspot_figure()
    return ([hotspots] if hotspots else []) + _broadband_figures()


def gelsenkirchen_key_figures() -> list[dict]:
    """Key figures of the home page, from the newest harvested datasets.

    Each: key (hotspots, gigabit, 50mbit, schools), value, unit, dataset
    (name; None for the hotspot total over several datasets, which links to
    their list), type, title, date (reference date); schools may carry total.
    Empty when no such dataset exists, so the block is left out.
    """
    return _cached("key_figures", _compute_key_figures)


def gelsenkirchen_home_search() -> dict:
    """Newest datasets and theme facet of the home page (cached)."""
    def compute() -> dict:
        result = _search(rows=5, sort="metadata_created desc",
                         **{"facet.field": f'["{search.THEME_FIELD}", "groups"]',
                            "facet.limit": 13})
        facets = result.get("search_facets") or {}
        themes: list[dict] = []
        for field in (search.THEME_FIELD, "groups"):
            items = (facets.get(field) or {}).get("items") or []
            if items:
                themes = [{"field": field, "name": i["name"],
                           "label": i.get("display_name") or i["name"], "count": i["count"]}
                          for i in sorted(items, key=lambda i: -i["count"])]
                break
        return {"newest": result["results"], "themes": themes, "count": result.get("count", 0)}
    return _cached("home_search", compute)


def gelsenkirchen_theme_label(field: str, value: str, fallback: str = "") -> str:
    """Label of a theme facet value in the current language."""
    return search.facet_label(field, value, current_lang()) or fallback or value
