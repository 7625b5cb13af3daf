"""A harvest source stays whole in the search index after its runs
(compat.py, search index of harvest sources): ckanext-harvest reindexes a
source after every finished job, and the next ``ckan harvester run-test``
reads it back through ``harvest_source_show``. Real WiFi harvests; the
remote source mocked with ``responses``."""
from __future__ import annotations

import ckan.plugins.toolkit as tk
import pytest
from ckanext.harvest.model import HarvestJob
from ckanext.harvest.utils import run_test_harvester

from .wifi import support as ws

pytestmark = pytest.mark.usefixtures("with_plugins", "plugin_db")
URL = f"{ws.FEEDS}/wlan.csv"


def test_run_test_works_again_after_a_finished_run(rsps):
    ws.mock(rsps, URL, ws.city_csv(ws.hotspots(10)))
    source = ws.create_source(URL, {})
    assert ws.run(source)["statuses"] == ["added"]  # ends in harvest_jobs_run: reindexed

    shown = tk.get_action("harvest_source_show")({"ignore_auth": True}, {"id": source["name"]})
    assert shown["source_type"] == "gelsenkirchen_wifi"

    rsps.replace("GET", URL, body=ws.city_csv(ws.hotspots(11)), content_type="text/csv")
    run_test_harvester(source["name"], None)  # `ckan harvester run-test`
    jobs = HarvestJob.filter(source_id=source["id"]).order_by(HarvestJob.created).all()
    assert len(jobs) == 2
    assert len(ws.rows_of(ws.dataset_of(source))) == 11
