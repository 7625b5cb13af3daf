"""The main ``gelsenkirchen`` CKAN plugin.

Everything that can be wired by ``toolkit.blanket`` is: helpers from
the ``helpers`` package, CLI commands from ``cli.py``, config options from
``config_declaration.yaml``, actions from ``logic/action.py`` (those that
need ckanext-harvest only when it is enabled) and their auth functions
from ``logic/auth.py``.
"""
from __future__ import annotations

import pathlib
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.lib.plugins import DefaultTranslation

from ckanext.gelsenkirchen import http_cache
from ckanext.gelsenkirchen.logic import action
from ckanext.gelsenkirchen.logic import search as schema_search

LICENSES_FILE = pathlib.Path(__file__).parent / "data" / "licenses-dcat-ap-de.json"


@tk.blanket.actions(action.get_actions)
@tk.blanket.auth_functions
@tk.blanket.cli
@tk.blanket.config_declarations
@tk.blanket.helpers
@tk.blanket.validators
@tk.blanket.blueprints
class GelsenkirchenPlugin(p.SingletonPlugin, DefaultTranslation):
    p.implements(p.IConfigurer)
    # German catalogue in i18n/, domain ckanext-gelsenkirchen (DefaultTranslation)
    p.implements(p.ITranslation)
    # dataset schemas: search index fields and facets (logic/search.py)
    p.implements(p.IPackageController, inherit=True)
    p.implements(p.IFacets, inherit=True)
    # Cache-Control for front proxies (http_cache.py)
    p.implements(p.IMiddleware, inherit=True)

    # IConfigurer
    def update_config(self, config_: tk.CKANConfig) -> None:
        tk.add_template_directory(config_, "templates")
        # The dcat-ap.de licence list (with its IRIs) unless the site has its own.
        if not config_.get("licenses_group_url"):
            config_["licenses_group_url"] = LICENSES_FILE.as_uri()
        # the portal theme: overrides of CKAN's templates (templates/theme), its
        # stylesheet and scripts (assets/webassets.yml); off only to compare
        # with stock CKAN templates (make bench-pages)
        if tk.asbool(config_.get("ckanext.gelsenkirchen.theme.enabled", True)):
            tk.add_template_directory(config_, "templates/theme")
        tk.add_resource("assets", "gelsenkirchen")

    # IMiddleware
    def make_middleware(self, app: Any, config: tk.CKANConfig) -> Any:
        return http_cache.register(app)

    # IPackageController
    def before_dataset_index(self, pkg_dict: dict[str, Any]) -> dict[str, Any]:
        return schema_search.before_dataset_index(pkg_dict)

    def after_dataset_search(self, search_results: dict[str, Any],
                             search_params: dict[str, Any]) -> dict[str, Any]:
        return schema_search.after_dataset_search(search_results, search_params)

    # IFacets
    def dataset_facets(self, facets_dict: dict[str, Any],
                       package_type: str) -> dict[str, Any]:
        return schema_search.dataset_facets(facets_dict, package_type)
