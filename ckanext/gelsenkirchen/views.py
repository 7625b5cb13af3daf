"""Pages of the portal theme: Impressum, Datenschutz, Barrierefreiheit.

Their text comes from config options (Markdown, see
``config_declaration.yaml``); an unset option shows a placeholder that says
the operator must fill it in. Collected by ``toolkit.blanket.blueprints``.
"""
from __future__ import annotations

import ckan.plugins.toolkit as tk
from flask import Blueprint

legal = Blueprint("gelsenkirchen_legal", __name__)

# page name -> (URL path, config option)
LEGAL_PAGES: dict[str, tuple[str, str]] = {
    "impressum": ("/impressum", "ckanext.gelsenkirchen.legal.impressum"),
    "datenschutz": ("/datenschutz", "ckanext.gelsenkirchen.legal.datenschutz"),
    "barrierefreiheit": ("/barrierefreiheit", "ckanext.gelsenkirchen.legal.barrierefreiheit"),
}


def _make_view(page: str, option: str):
    def view() -> str:
        text = (tk.config.get(option) or "").strip()
        return tk.render("gelsenkirchen/legal.html",
                         extra_vars={"page": page, "text": text, "option": option})
    view.__name__ = page
    return view


for _page, (_path, _option) in LEGAL_PAGES.items():
    legal.add_url_rule(_path, view_func=_make_view(_page, _option), endpoint=_page)
