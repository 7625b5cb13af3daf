"""Issue 13, item 7: harvest under load. Twenty sources queued at once,
one gather and two fetch consumers (real processes): every source is
published correctly (``verify``), no job is left running, and both fetch
consumers did part of the work.

With web load at the same time: ``make bench-load BENCH_ARGS=--harvest=20``
(bench/harvest_load.py; docs/operations.md).
"""
from __future__ import annotations

import time

import pytest
from ckan import model
from ckanext.harvest.model import HarvestJob

from ckanext.gelsenkirchen import harvest_consumers
from tests.harvest_processes import harness
from tests.harvest_processes.conftest import feed_body

pytestmark = pytest.mark.processes

SOURCES = 20


def test_twenty_sources_at_once_with_two_fetch_consumers(world):
    world.consumer("gather")
    fetchers = [world.consumer("fetch"), world.consumer("fetch", name="fetch-2")]
    sources = []
    for i in range(SOURCES):
        path = f"/wlan-{i:02d}.csv"
        # a different number of hotspots per source: a mix-up shows
        world.feed.bodies[path] = feed_body(40 + i, start=1000 * (i + 1))
        sources.append(world.source(f"wlan-{i:02d}", world.feed.base + path))

    started = time.monotonic()
    jobs = [world.job(source) for source in sources]
    reports = [world.wait_job(job, timeout=600) for job in jobs]
    elapsed = time.monotonic() - started

    for source, report in zip(sources, reports, strict=True):
        assert report == {"gather_errors": [], "object_errors": [], "statuses": ["added"]}, \
            (source["name"], report)
    harness.fresh()
    assert model.Session.query(HarvestJob).filter(
        HarvestJob.status != "Finished").count() == 0
    for i, source in enumerate(sources):
        assert world.dataset(source)["hotspot_count"] == 40 + i

    verified = world.verify()
    assert verified["exit_code"] == 0, verified
    assert len(verified["datasets"]) == SOURCES
    assert all(d["ok"] for d in verified["datasets"]), verified

    time.sleep(1.5)  # the heartbeats are written every second
    beats = harness.wait_for(
        lambda: harvest_consumers.live_consumers(world.redis.client(), "fetch"), 10,
        "the fetch consumers' heartbeats")
    handled = {beat["pid"]: beat["handled"] for beat in beats}
    assert set(handled) == {f.pid for f in fetchers}
    # a message put back (source lock held by the other consumer) is handled
    # again, so the count may exceed the sources; every source is verified above
    assert sum(handled.values()) >= SOURCES and all(handled.values()), handled
    assert all(f.alive() for f in fetchers)
    print(f"{SOURCES} sources, 2 fetch consumers: {elapsed:.1f} s, handled {handled}")
