"""Fixtures shared by the harvester integration tests (WiFi and broadband)."""
from __future__ import annotations

from urllib.parse import urlsplit

import ckan.plugins.toolkit as tk
import pytest
import responses


@pytest.fixture
def rsps():
    """Remote sources mocked with ``responses``; the search service stays reachable."""
    solr = urlsplit(tk.config["solr_url"])
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        mock.add_passthru(f"{solr.scheme}://{solr.netloc}")
        yield mock
