"""Pages of the portal theme: Impressum, Datenschutz, Barrierefreiheit; and
a 404 for RDF formats ckanext-dcat's endpoints do not serve; the operator
page of a harvest source (operator_views.py).

Their text comes from config options (Markdown, see
``config_declaration.yaml``); an unset option shows a placeholder that says
the operator must fill it in. Collected by ``toolkit.blanket.blueprints``.
"""
from __future__ import annotations

import ckan.plugins.toolkit as tk
from flask import Blueprint, request

# the operator page of a harvest source, collected from here with the others
from ckanext.gelsenkirchen.operator_views import operator  # noqa: F401

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


# ckanext-dcat 2.4.4 routes /dataset/<id>.<format> and /catalog.<format> for
# any format, then fails with a KeyError (HTTP 500) on a format it serialises
# but has no content type for (nt) or an rdflib plugin error on any other.
# Formats it does not serve are answered 404 before its view runs.
rdf_formats = Blueprint("gelsenkirchen_rdf_formats", __name__)
_DCAT_ENDPOINTS = ("dcat.read_dataset", "dcat.read_catalog")


@rdf_formats.before_app_request
def _refuse_unserved_rdf_formats() -> None:
    from ckanext.dcat.utils import CONTENT_TYPES

    if request.url_rule is None or request.url_rule.endpoint not in _DCAT_ENDPOINTS:
        return
    fmt = (request.view_args or {}).get("_format")
    if fmt and fmt not in CONTENT_TYPES:
        tk.abort(404, tk._("This catalogue is not available in the format {format}.")
                 .format(format=fmt))
