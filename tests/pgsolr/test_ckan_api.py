"""Hostile search parameters as an anonymous user sends them to CKAN's
package_search API, which passes them on to the search service (issue 12,
finding 1). Needs CKAN's test set-up (test.ini) and the search service at its
solr_url, as the rest of the extension's suite: pgsolr, or Apache Solr
(SEARCH=solr), which has no limit on function queries and answers them."""
from __future__ import annotations

import time

import ckan.plugins.toolkit as tk
import pytest

from pgsolr.functions import MAX_DEPTH
from tests.logic.data import (  # noqa: F401 (fixtures)
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)
from tests.search_service import apache_solr_mode

SEARCH = "/api/3/action/package_search"


def _search(app, **params: str):
    t0 = time.monotonic()
    response = app.get(SEARCH, query_string=params, status=None)
    return response, time.monotonic() - t0


@pytest.mark.usefixtures("with_plugins", "clean_db", "clean_index")
def test_package_search_with_the_attackers_bf(app, organization, sysadmin) -> None:
    created = call_as(sysadmin, "package_create", **dataset_dict(owner_org=organization["id"]))
    # the reproducer: 136 characters that built a 247 MB SQL string
    bf = "sqrt(" * 22 + "minx" + ")" * 22
    assert len(bf) == 136
    response, seconds = _search(app, q="Parkhäuser", bf=bf, boost=bf)
    assert response.status_code == 200, response.body
    assert [r["name"] for r in response.json["result"]["results"]] == [created["name"]]
    assert seconds < 10

    # beyond pgsolr's limits: a clear error, at once
    deeper = "sqrt(" * (MAX_DEPTH + 1) + "minx" + ")" * (MAX_DEPTH + 1)
    longer = "add(" + ",".join(["minx"] * 500) + ")"
    on_solr = apache_solr_mode(tk.config["solr_url"]) is not None
    for bad, phrase in ((deeper, "nested too deeply"), (longer, "function query too long")):
        response, seconds = _search(app, q="Parkhäuser", bf=bad)
        assert seconds < 10
        if on_solr:
            # A difference (docs/pgsolr.md, limits): Apache Solr parses the
            # function once and evaluates it per document, so it sets no
            # such limit and answers; pgsolr turns it into SQL and refuses.
            assert response.status_code == 200, response.body
            assert response.json["result"]["count"] == 1
            continue
        assert response.status_code == 409, response.body
        error = response.json["error"]
        assert error["__type"] == "Search Error"
        assert phrase in error["message"] and "HTTP 400" in error["message"]
