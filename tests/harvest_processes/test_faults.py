"""Issue 13, item 3: nothing half-written.

Each test publishes a source through the real consumer processes, injects
one fault in the middle of the next harvest, and checks with `ckan
gelsenkirchen verify` (DataStore rows, derived fields, files and search
index entry agree) that the published state is the old one or the new one,
never a mix; then the next run publishes.
"""
from __future__ import annotations

import pytest
from ckan import model
from ckanext.harvest import queue
from ckanext.harvest.model import HarvestJob, HarvestObject

from tests.harvest_processes import harness
from tests.harvest_processes.conftest import feed_body

pytestmark = pytest.mark.processes

#: the DataStore write of harvesters/datastore.py: replace_rows
DATASTORE_WRITE = "%json_populate_recordset%"
BIG = 3000


def assert_published(world, source, count: int, solr_url: str | None = None) -> None:
    """One consistent state with ``count`` hotspots."""
    report = world.verify(solr_url)
    problems = [p for d in report["datasets"] for p in d["problems"]]
    assert report["exit_code"] == 0 and not problems, problems
    assert [d["ok"] for d in report["datasets"]] == [True], report
    assert world.dataset(source)["hotspot_count"] == count


def publish_first(world, count: int = 10, **consumer_options):
    world.consumer("gather")
    fetch = world.consumer("fetch", **consumer_options)
    source = world.source()
    world.feed.body = feed_body(count)
    assert world.harvest(source)["statuses"] == ["added"]
    assert_published(world, source, count, consumer_options.get("solr_url"))
    return source, fetch


def errored(report) -> str:
    assert report["statuses"] == ["errored"], report
    return " ".join(report["object_errors"])


def test_search_service_stopped_during_the_import(world, tmp_path):
    solr = harness.PgSolr(tmp_path / "pgsolr.log")
    solr.start()
    try:
        source, fetch = publish_first(world, solr_url=solr.url())
        world.feed.body = feed_body(BIG)
        job = world.job(source)
        harness.wait_for(lambda: harness.active_statement(f"{world.app}-fetch", DATASTORE_WRITE),
                         60, "the DataStore write", interval=0.01)
        solr.stop()
        assert "Publishing failed" in errored(world.wait_job(job))

        # the index the consumers write (on Apache Solr the suite's own
        # service is another index): back up, it still has the old state
        solr.start()
        assert_published(world, source, 10, solr.url())
        assert world.harvest(source)["statuses"] == ["updated"]
        assert_published(world, source, BIG, solr.url())
        assert fetch.alive()
    finally:
        solr.stop()


def test_redis_restarted_between_queueing_gathering_and_fetching(world):
    source, fetch = publish_first(world)
    gather = world.consumers[0]

    # gathered, then Redis restarts before the fetch consumer takes the object
    fetch.stop()
    world.feed.body = feed_body(12)
    job = world.job(source)

    def waiting_object() -> bool:
        harness.fresh()
        return bool(model.Session.query(HarvestObject).filter(
            HarvestObject.harvest_job_id == job, HarvestObject.state == "WAITING").count())
    harness.wait_for(waiting_object, 60, "the gathered object")
    world.redis.restart(down_seconds=1)
    assert world.redis.client().llen(queue.get_fetch_routing_key()) == 0  # the queue is gone
    assert_published(world, source, 10)
    world.consumer("fetch", name="fetch-2")
    assert world.wait_job(job)["statuses"] == ["updated"]
    assert_published(world, source, 12)

    # queued, then Redis restarts before the gather consumer takes the job
    gather.stop()
    world.feed.body = feed_body(14)
    job = world.job(source)
    world.redis.restart(down_seconds=1)
    assert world.redis.client().llen(queue.get_gather_routing_key()) == 0
    harness.fresh()
    assert model.Session.get(HarvestJob, job).status == "Running"
    world.consumer("gather", name="gather-2")
    assert world.wait_job(job)["statuses"] == ["updated"]
    assert_published(world, source, 14)
    assert "Redis had lost" in world.consumers[-1].output()


def test_database_connection_killed_during_the_datastore_write(world):
    source, fetch = publish_first(world)
    world.feed.body = feed_body(BIG)
    job = world.job(source)
    harness.wait_for(lambda: harness.active_statement(f"{world.app}-fetch", DATASTORE_WRITE),
                     60, "the DataStore write", interval=0.01)
    assert harness.terminate_backends(f"{world.app}-fetch", DATASTORE_WRITE) == 1
    assert "Publishing failed" in errored(world.wait_job(job))
    assert_published(world, source, 10)

    assert world.harvest(source)["statuses"] == ["updated"]
    assert_published(world, source, BIG)
    assert fetch.alive()


def test_source_timeout_reset_and_truncated_body(world):
    source, _fetch = publish_first(world)
    world.feed.body = feed_body(12)
    world.feed.delay = 5  # longer than the read timeout of 2 s
    for mode in ("stall", "reset", "truncated"):
        world.feed.mode = mode
        report = world.harvest(source)
        assert report["statuses"] == [] and len(report["gather_errors"]) == 1, (mode, report)
        assert "The published dataset was not changed" in report["gather_errors"][0]
        assert_published(world, source, 10)
    world.feed.mode = "ok"
    assert world.harvest(source)["statuses"] == ["updated"]
    assert_published(world, source, 12)


@pytest.mark.skipif(not harness.can_mount(), reason="mounting a small tmpfs needs root")
def test_storage_full_or_read_only_when_the_files_are_written(world):
    with harness.tmpfs(world.storage, "256k"):
        source, fetch = publish_first(world)

        world.feed.body = feed_body(BIG)  # files of about 1.5 MB: the storage is full
        assert "No space left on device" in errored(world.harvest(source))
        assert_published(world, source, 10)

        harness.remount(world.storage, "ro")
        world.feed.body = feed_body(12)
        assert "Read-only file system" in errored(world.harvest(source))
        assert_published(world, source, 10)

        harness.remount(world.storage, "rw,size=16m")
        assert world.harvest(source)["statuses"] == ["updated"]
        assert_published(world, source, 12)
        assert fetch.alive()
