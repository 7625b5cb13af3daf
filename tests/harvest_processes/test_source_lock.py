"""Issue 13, item 2: two processes harvesting one source publish one after
the other: one dataset, no error, the right rows.

The operator's case of the issue: the scheduled consumers run while
`ckan harvester run-test` runs the same source (its job also goes on the
gather queue, so the gather consumer gathers it as well). The feed answers
both downloads at the same moment, so both imports start together.
"""
from __future__ import annotations

import pytest
from ckan import model
from ckanext.harvest.model import HarvestJob

from tests.harvest_processes import harness
from tests.harvest_processes.conftest import feed_body

pytestmark = pytest.mark.processes


def test_run_test_beside_the_consumers_publishes_one_dataset_without_errors(world):
    world.feed.body = feed_body(600)
    world.feed.mode, world.feed.delay = "together", 1.5
    world.consumer("gather")
    fetch = world.consumer("fetch")
    source = world.source()

    run_test = harness.ckan(world.ini, "harvester", "run-test", source["name"],
                            environ=world.env("run-test"), timeout=180)
    assert run_test.returncode == 0, run_test.stdout + run_test.stderr
    harness.fresh()
    job = model.Session.query(HarvestJob).filter(HarvestJob.source_id == source["id"]).one()
    report = world.wait_job(job.id)

    assert world.feed.requests == 2  # gathered twice: by run-test and by the consumer
    assert report["gather_errors"] == [] and report["object_errors"] == [], report
    assert set(report["statuses"]) <= {"added", "updated", "not modified"}, report
    assert len(report["statuses"]) == 2 and "added" in report["statuses"], report
    datasets = model.Session.query(model.Package).filter(
        model.Package.type == "wifi-hotspots").all()
    assert len(datasets) == 1
    assert world.dataset(source)["hotspot_count"] == 600
    waited = "is being harvested by" in fetch.output() + run_test.stderr
    assert waited, "the two imports did not overlap: the test proves nothing"
    assert world.verify()["exit_code"] == 0
