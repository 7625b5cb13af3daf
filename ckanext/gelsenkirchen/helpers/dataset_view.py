"""The map/table/chart block of the dataset page of a harvested type,
rendered once per version of the dataset (page_cache.py)."""
from __future__ import annotations

import datetime

import ckan.plugins.toolkit as tk
from flask import has_request_context, request
from markupsafe import Markup

from ckanext.gelsenkirchen import dataset_types, page_cache
from ckanext.gelsenkirchen.helpers.broadband_page import BROADBAND_INDICATORS

__all__ = ["gelsenkirchen_dataset_view"]

# type -> (snippet, the one page argument it takes from the query string)
_VIEWS = {dataset_types.WIFI: ("gelsenkirchen/snippets/wifi_hotspots.html", "hotspot_filter"),
          dataset_types.BROADBAND: ("gelsenkirchen/snippets/broadband_coverage.html",
                                    "indicator")}


def gelsenkirchen_dataset_view(pkg: dict) -> Markup:
    """The rendered map/table/chart block of a wifi-hotspots or
    broadband-coverage page, once per version of the dataset, language,
    month (of the map attribution) and indicator (page_cache.py); a table
    filtered by the visitor is rendered for that view only."""
    view = _VIEWS.get(pkg.get("type") or "")
    if not view:
        return Markup("")
    template, arg_name = view
    arg = (request.args.get(arg_name, "") if has_request_context() else "").strip()

    def render() -> Markup:
        # the argument is passed, not read from the request by the snippet,
        # so that a cached block is exactly what its key says
        return Markup(tk.render_snippet(template, {"pkg": pkg, arg_name: arg}))
    if arg_name == "hotspot_filter" and arg:
        return render()
    if arg not in BROADBAND_INDICATORS:  # no filter, or an unknown indicator
        arg = ""
    return page_cache.for_dataset("view", pkg, render, arg, datetime.date.today().strftime("%Y-%m"))
