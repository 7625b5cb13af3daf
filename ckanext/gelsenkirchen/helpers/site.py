"""Site-wide helpers: footer links, map settings and map data, registered
dataset types."""
from __future__ import annotations

import datetime
import json
from typing import Any

import ckan.plugins.toolkit as tk
from markupsafe import Markup

__all__ = ["gelsenkirchen_legal_pages", "gelsenkirchen_map_config", "gelsenkirchen_json_script",
           "gelsenkirchen_type_registered"]


def gelsenkirchen_legal_pages() -> list[tuple[str, str]]:
    """(endpoint, label) of the legal pages linked from the footer."""
    return [("gelsenkirchen_legal.impressum", tk._("Legal notice")),
            ("gelsenkirchen_legal.datenschutz", tk._("Privacy statement")),
            ("gelsenkirchen_legal.barrierefreiheit", tk._("Accessibility statement"))]


def gelsenkirchen_map_config() -> dict:
    """Background map settings for the dataset-page maps and the search widget."""
    now = datetime.date.today()
    attribution = tk.config.get("ckanext.gelsenkirchen.map.attribution") or ""
    return {
        "tile_url": tk.config.get("ckanext.gelsenkirchen.map.tile_url"),
        "attribution": attribution.replace("{month_year}", f"{now.month:02d}/{now.year}"),
        "max_zoom": tk.asint(tk.config.get("ckanext.gelsenkirchen.map.max_zoom", 18)),
    }


def gelsenkirchen_json_script(value: Any) -> Markup:
    """``value`` as JSON for a ``<script type="application/json">`` block of
    a map: ``<``, ``>`` and ``&`` escaped, so harvested text can neither
    close the block nor open markup."""
    text = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e")
                  .replace("&", "\\u0026"))


def gelsenkirchen_type_registered(dataset_type: str) -> bool:
    """True when the dataset type has its pages (a schema defines it)."""
    from flask import current_app
    return f"{dataset_type}.search" in current_app.view_functions
