"""Fixtures shared by the whole suite."""
from __future__ import annotations

import ckan.plugins as plugins
import ckan.plugins.toolkit as tk
import pytest
from ckan.cli import db as ckan_db


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


@pytest.fixture
def harvest_test_plugin(with_plugins):
    """ckanext-harvest's test harvester (sources of type "test") loaded in
    addition to test.ini's plugins. (CKAN 2.12's with_plugins mark takes
    plugin names; 2.10's and 2.11's ignore them.)"""
    plugins.load("test_harvester")
    yield
    plugins.unload("test_harvester")
