"""Fixtures shared by the harvester integration tests (WiFi and broadband)."""
from __future__ import annotations

from urllib.parse import urlsplit

import ckan.plugins.toolkit as tk
import pytest
import responses
from ckan.cli import db as ckan_db


@pytest.fixture
def harvest_db(clean_db, clean_index, migrate_db_for):
    """A clean database and index with every plugin's tables migrated."""
    for plugin in tk.config["ckan.plugins"]:
        if ckan_db.current_revision(plugin) is not None:
            migrate_db_for(plugin)


@pytest.fixture
def rsps():
    """Remote sources mocked with ``responses``; the search service stays reachable."""
    solr = urlsplit(tk.config["solr_url"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(f"{solr.scheme}://{solr.netloc}")
        yield mock
