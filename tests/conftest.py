"""Fixtures shared by the whole suite."""
from __future__ import annotations

import ckan.plugins as plugins
import ckan.plugins.toolkit as tk
import pytest
from ckan.cli import db as ckan_db

from ckanext.gelsenkirchen import compat


def migrate_enabled_plugins(migrate_db_for) -> None:
    """CKAN's clean_db re-creates CKAN core's tables only: bring every enabled
    plugin that has migrations (harvest; activity from CKAN 2.11 on, part of
    core before) back to its head, as `ckan db upgrade` does."""
    for plugin in tk.config["ckan.plugins"]:
        if ckan_db.current_revision(plugin) is not None:
            migrate_db_for(plugin)


@pytest.fixture
def plugin_db(clean_db, clean_index, migrate_db_for) -> None:
    """A clean database and search index with every enabled plugin's tables."""
    migrate_enabled_plugins(migrate_db_for)


if compat.minor_version(compat.installed_ckan_version()) == "2.10":
    @pytest.fixture
    def with_plugins(ckan_config):
        """CKAN 2.10's own fixture of this name loads and unloads test.ini's
        plugins one at a time, and every load or unload re-runs each plugin's
        update_config (core's config declaration, the scheming schemas,
        webassets): 22 rounds per test, three quarters of the suite's time on
        2.10. 2.11 changed it to load them all at once (load_all); this does
        the same with 2.10's API: the same plugins, one round each way."""
        names = tk.aslist(ckan_config["ckan.plugins"])
        plugins.load(*[name for name in names if not plugins.plugin_loaded(name)])
        yield
        plugins.unload(*[name for name in reversed(names) if plugins.plugin_loaded(name)])


@pytest.fixture
def harvest_test_plugin(with_plugins):
    """ckanext-harvest's test harvester (sources of type "test") loaded in
    addition to test.ini's plugins. (CKAN 2.12's with_plugins mark takes
    plugin names; 2.10's and 2.11's ignore them.)"""
    plugins.load("test_harvester")
    yield
    plugins.unload("test_harvester")
