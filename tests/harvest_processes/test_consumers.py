"""Issue 13, item 1: the real consumer processes survive what used to end them.

``ckan -c INI gelsenkirchen harvest-consumer gather|fetch`` run as
subprocesses; a test-only harvester (raising_harvester.py) raises in the
gather, fetch and import stages, Redis restarts, PostgreSQL ends the
consumers' connections. After each, the same processes publish the next
job.
"""
from __future__ import annotations

import pytest

from tests.harvest_processes import harness
from tests.harvest_processes.conftest import RAISING_PLUGIN, feed_body

pytestmark = pytest.mark.processes


@pytest.fixture
def raising_world(world, plugin_path, monkeypatch):
    """The world with the raising harvester loaded here and in the subprocesses."""
    import sys

    import ckan.plugins as p
    import ckan.plugins.toolkit as tk

    monkeypatch.syspath_prepend(str(plugin_path))
    try:  # CKAN 2.10 finds plugins in pkg_resources' working set, made at import
        import pkg_resources
    except ImportError:
        pass
    else:
        pkg_resources.working_set.add_entry(str(plugin_path))
    world.extra_path = str(plugin_path)
    plugins = tk.config["ckan.plugins"]
    plugins = plugins.split() if isinstance(plugins, str) else list(plugins)
    world.options["ckan.plugins"] = " ".join([*plugins, RAISING_PLUGIN])
    world.ini = harness.write_ini(world.dir / "processes.ini", **world.options)
    p.load(RAISING_PLUGIN)
    try:
        yield world
    finally:
        p.unload(RAISING_PLUGIN)
        sys.modules.pop("gk_raising_harvester", None)


def test_an_exception_in_any_stage_ends_that_job_and_the_consumers_go_on(raising_world):
    world = raising_world
    gather, fetch = world.consumer("gather"), world.consumer("fetch")
    base = "http://127.0.0.1:9/raises"

    in_gather = world.harvest(world.source("raises-gather", f"{base}/gather", RAISING_PLUGIN))
    assert any("Unexpected error in the gather consumer: OverflowError" in m
               for m in in_gather["gather_errors"]), in_gather
    in_fetch = world.harvest(world.source("raises-fetch", f"{base}/fetch", RAISING_PLUGIN))
    assert in_fetch["statuses"] == ["errored"]
    assert any("Unexpected error in the fetch consumer: KeyError" in m
               for m in in_fetch["object_errors"]), in_fetch
    in_import = world.harvest(world.source("raises-import", f"{base}/import", RAISING_PLUGIN))
    assert in_import["statuses"] == ["errored"]
    assert any("IntegrityError" in m and "duplicate key value" in m
               for m in in_import["object_errors"]), in_import

    # the same two processes publish the next source
    wifi = world.source("wlan-danach")
    done = world.harvest(wifi)
    assert done == {"gather_errors": [], "object_errors": [], "statuses": ["added"]}
    assert world.dataset(wifi)["hotspot_count"] == 10
    assert gather.alive() and fetch.alive()
    assert "Traceback" in gather.output() and "OverflowError" in gather.output()
    assert "Traceback" in fetch.output() and "IntegrityError" in fetch.output()
    verified = world.verify()
    assert verified["exit_code"] == 0, verified


def test_redis_restarts_and_killed_database_connections_are_survived(world):
    gather, fetch = world.consumer("gather"), world.consumer("fetch")
    source = world.source()
    assert world.harvest(source)["statuses"] == ["added"]

    world.redis.restart(down_seconds=2)
    for consumer in (gather, fetch):
        harness.wait_for(lambda c=consumer: "connected to Redis again" in c.output(), 60,
                         f"the {consumer.stage} consumer to reconnect")
        assert "Redis unreachable" in consumer.output()
    assert harness.terminate_backends(f"{world.app}-gather") >= 0
    assert harness.terminate_backends(f"{world.app}-fetch") >= 1

    world.feed.body = feed_body(12)
    assert world.harvest(source)["statuses"] == ["updated"]
    assert world.dataset(source)["hotspot_count"] == 12
    assert gather.alive() and fetch.alive()
    verified = world.verify()
    assert verified["exit_code"] == 0, verified
