"""Fixtures of the real-process harvest tests (see harness.py)."""
from __future__ import annotations

import json
import os
import pathlib
import shutil
from collections.abc import Iterator
from typing import Any

import ckan.plugins.toolkit as tk
import pytest
from ckan import model
from ckan.tests import factories
from ckanext.harvest.model import HarvestJob, HarvestObject

from tests.harvest_processes import harness
from tests.harvesters.wifi.support import city_csv, hotspots

pytestmark = pytest.mark.processes

RAISING_PLUGIN = "gk_test_raising"


def feed_body(n: int, start: int = 1) -> bytes:
    """A city CSV of ``n`` valid hotspots."""
    return city_csv(hotspots(n, start))


@pytest.fixture(scope="session")
def plugin_path(tmp_path_factory: pytest.TempPathFactory) -> pathlib.Path:
    """A directory whose dist-info registers the test-only harvester plugin."""
    path = tmp_path_factory.mktemp("plugins")
    info = path / "gk_test_plugins-0.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: gk-test-plugins\nVersion: 0.0\n")
    # a top-level module: CKAN's CLI binds the name "tests" to ckan.tests
    shutil.copy(pathlib.Path(__file__).with_name("raising_harvester.py"),
                path / "gk_raising_harvester.py")
    (info / "entry_points.txt").write_text(
        "[ckan.plugins]\n"
        f"{RAISING_PLUGIN} = gk_raising_harvester:RaisingHarvester\n")
    return path


class World:
    """Consumers, a private Redis, a feed and the test configuration of one test."""

    def __init__(self, tmp_path: pathlib.Path, redis_server: harness.RedisServer,
                 feed: harness.FeedServer, **options: str) -> None:
        self.dir = tmp_path
        self.redis = redis_server
        self.feed = feed
        self.storage = tmp_path / "storage"
        self.solr_url = tk.config["solr_url"]
        self.app = f"gk-test-{os.getpid()}"
        self.options = {
            "ckan.redis.url": redis_server.url,
            "ckan.storage_path": str(self.storage),
            "ckanext.gelsenkirchen.harvest.read_timeout": "2",
            "ckanext.gelsenkirchen.harvest.total_timeout": "10",
            "ckanext.gelsenkirchen.harvest.consumer_heartbeat_seconds": "1",
            # the databases the suite really uses: on CKAN 2.10 and 2.11 they
            # come from CKAN_SQLALCHEMY_URL and its siblings (scripts/lib.sh),
            # which the consumers' environment leaves out
            **{key: tk.config[key] for key in (
                "sqlalchemy.url", "ckan.datastore.write_url", "ckan.datastore.read_url")},
            **options}
        self.ini = harness.write_ini(tmp_path / "processes.ini", **self.options)
        self.consumers: list[harness.Consumer] = []
        self.extra_path = ""
        self.sysadmin = factories.Sysadmin()["name"]

    def env(self, app: str, solr_url: str | None = None) -> dict[str, str]:
        environ = harness.env(solr_url or self.solr_url, f"{self.app}-{app}")
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(harness.ROOT),
                                                              self.extra_path]))
        return environ

    def consumer(self, stage: str, name: str | None = None,
                 solr_url: str | None = None) -> harness.Consumer:
        name = name or stage
        consumer = harness.Consumer(self.ini, stage, self.env(name, solr_url),
                                    self.dir / f"{name}.log").start()
        self.consumers.append(consumer)
        return consumer

    def source(self, name: str = "wlan-quelle", url: str | None = None,
               source_type: str = "gelsenkirchen_wifi",
               config: dict[str, Any] | None = None) -> dict[str, Any]:
        from tests.harvesters import support
        return support.create_source(source_type, url or self.feed.url, config, name=name,
                                     title=f"Quelle {name}")

    def job(self, source: dict[str, Any]) -> str:
        """A job put on the (private) gather queue, as `harvester run` does."""
        job = tk.get_action("harvest_job_create")({"user": self.sysadmin},
                                                  {"source_id": source["id"], "run": True})
        return str(job["id"])

    def wait_job(self, job_id: str, timeout: float = 90) -> dict[str, Any]:
        """Wait until every object of the job is done; mark it Finished as
        `harvester run` does; its report."""
        def done() -> bool:
            harness.fresh()
            job = model.Session.get(HarvestJob, job_id)
            if job is None or job.gather_finished is None:
                return False
            return not model.Session.query(HarvestObject).filter(
                HarvestObject.harvest_job_id == job_id,
                HarvestObject.state.notin_(["COMPLETE", "ERROR"])).count()
        harness.wait_for(done, timeout, f"harvest job {job_id} to finish")
        job = model.Session.get(HarvestJob, job_id)
        assert job is not None
        tk.get_action("harvest_jobs_run")({"ignore_auth": True}, {"source_id": job.source_id})
        harness.fresh()
        report = tk.get_action("harvest_job_report")({"ignore_auth": True}, {"id": job_id})
        objects = model.Session.query(HarvestObject).filter(
            HarvestObject.harvest_job_id == job_id).all()
        return {
            "gather_errors": [e["message"] for e in report["gather_errors"]],
            "object_errors": [e["message"] for o in report["object_errors"].values()
                              for e in o["errors"]],
            "statuses": sorted(str(o.report_status) for o in objects),
        }

    def harvest(self, source: dict[str, Any], timeout: float = 90) -> dict[str, Any]:
        return self.wait_job(self.job(source), timeout)

    def verify(self, solr_url: str | None = None) -> dict[str, Any]:
        """`ckan gelsenkirchen verify --json` as a subprocess."""
        result = harness.ckan(self.ini, "gelsenkirchen", "verify", "--json",
                              environ=self.env("verify", solr_url))
        try:
            report = json.loads(result.stdout)
        except ValueError:
            raise AssertionError(result.stdout + result.stderr) from None
        report["exit_code"] = result.returncode
        return report

    def dataset(self, source: dict[str, Any]) -> dict[str, Any] | None:
        from tests.harvesters import support
        harness.fresh()
        return support.dataset_of(source)

    def close(self) -> None:
        for consumer in self.consumers:
            consumer.stop()


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[harness.RedisServer]:
    server = harness.RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.stop()


@pytest.fixture
def world(with_plugins: None, plugin_db: None, tmp_path: pathlib.Path,
          redis_server: harness.RedisServer,
          monkeypatch: pytest.MonkeyPatch) -> Iterator[World]:
    # the jobs this process creates go on the private Redis's queues; also
    # in the environment, which CKAN applies over the config again whenever a
    # test loads a plugin (the 2.10 and 2.11 suites set CKAN_REDIS_URL)
    monkeypatch.setitem(tk.config, "ckan.redis.url", redis_server.url)
    monkeypatch.setenv("CKAN_REDIS_URL", redis_server.url)
    redis_server.client().flushall()
    with harness.FeedServer() as feed:
        feed.body = feed_body(10)
        world = World(tmp_path, redis_server, feed)
        try:
            yield world
        finally:
            world.close()
            for consumer in world.consumers:
                if "Traceback" in consumer.output():
                    print(f"--- {consumer.log.name}\n{consumer.output()[-4000:]}")
