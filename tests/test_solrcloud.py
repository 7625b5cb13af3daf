"""SolrCloud: CKAN indexes into a collection of 2 shards x 2 replicas on two
Solr nodes, searches with facets and bbox, deletes, and keeps answering
while one node is down; the node comes back and catches up.

Runs against the SolrCloud that ``scripts/solr-ctl.sh start --cloud`` runs
(``make test-solrcloud``, also part of ``make test SEARCH=solrcloud``): it
stops and starts the cloud's second node through the launcher's control
channel (``scripts/solr-ctl.sh node stop|start 2 --cloud``), the node CKAN
does not talk to. On pgsolr and on a standalone Solr there is no node to
stop: the test is skipped there, saying so.
"""
from __future__ import annotations

import json
import os
import subprocess
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import ckan.lib.search as search
import ckan.plugins.toolkit as tk
import pytest
from shapely.geometry import shape

from tests.logic.data import (  # noqa: F401 (fixtures)
    call_as,
    dataset_dict,
    organization_fixture,
    sysadmin_fixture,
)
from tests.search_service import apache_solr_mode

ROOT = Path(__file__).resolve().parent.parent
RUN_DIR = Path(os.environ.get("RUN_DIR", ROOT / ".run"))
TIMEOUT = 120  # seconds for the cloud to settle (leaders, recovery)
FACETS = ["vocab_gk_theme", "vocab_gk_quarter", "dataset_type", "res_format", "license_id"]

pytestmark = pytest.mark.solrcloud


def _get(url: str) -> dict[str, Any]:
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


class Cloud:
    """The SolrCloud behind CKAN's ``solr_url`` (a collection on node 1)."""

    def __init__(self, solr_url: str) -> None:
        parts = urlsplit(solr_url)
        self.port = parts.port
        self.base = f"{parts.scheme}://{parts.netloc}/solr"
        self.collection = parts.path.rstrip("/").rsplit("/", 1)[-1]

    def status(self) -> dict[str, Any]:
        cluster = _get(f"{self.base}/admin/collections?action=CLUSTERSTATUS"
                       f"&collection={self.collection}&wt=json")["cluster"]
        return cluster

    def replicas(self) -> list[dict[str, Any]]:
        """Every replica with its shard, node port, state and leadership."""
        status = self.status()
        live = set(status["live_nodes"])
        out = []
        for shard, info in status["collections"][self.collection]["shards"].items():
            for replica in info["replicas"].values():
                out.append({"shard": shard, "core": replica["core"],
                            "url": replica["base_url"],
                            "port": urlsplit(replica["base_url"]).port,
                            "active": replica["state"] == "active"
                            and replica["node_name"] in live,
                            "leader": replica.get("leader") == "true"})
        return out

    def count_on(self, replica: dict[str, Any]) -> int:
        """Documents in one replica alone (no distributed search)."""
        return _get(f"{replica['url']}/{replica['core']}/select?q=*:*&rows=0"
                    "&distrib=false&wt=json")["response"]["numFound"]

    def node(self, action: str, number: int) -> None:
        subprocess.run([str(ROOT / "scripts" / "solr-ctl.sh"), "node", action, str(number),
                        "--cloud"], check=True, timeout=TIMEOUT * 3,
                       env=dict(os.environ, SOLR_PORT=str(self.port)))

    def wait(self, what: str, ready: Any) -> None:
        deadline = time.monotonic() + TIMEOUT
        while not ready(self.replicas()):
            assert time.monotonic() < deadline, f"SolrCloud: {what} within {TIMEOUT}s"
            time.sleep(0.5)


def _not_here(reason: str) -> None:
    """Skip, saying why; make test-solrcloud (GK_REQUIRE_SOLRCLOUD=1) fails instead."""
    if os.environ.get("GK_REQUIRE_SOLRCLOUD") == "1":
        pytest.fail(reason)
    pytest.skip(reason)


@pytest.fixture(name="cloud")
def cloud_fixture() -> Cloud:
    url = tk.config["solr_url"]
    cloud = Cloud(url)
    if apache_solr_mode(url) != "solrcloud":
        _not_here(f"needs SolrCloud, and the search service at {url} is not one (pgsolr or "
                    "a standalone Solr): this test stops one of the cloud's nodes; it runs "
                    "with make test-solrcloud")
    port_file = RUN_DIR / "solr" / "cloud.port"
    if not port_file.exists() or port_file.read_text().strip() != str(cloud.port):
        _not_here(f"the SolrCloud at {url} was not started by scripts/solr-ctl.sh --cloud, "
                    "whose launcher can stop and start one node")
    return cloud


def _search(user: dict[str, Any], **params: Any) -> dict[str, Any]:
    return call_as(user, "package_search", rows=100, **{"facet.field": json.dumps(FACETS)},
                   **params)


def _facet(result: dict[str, Any], field: str) -> dict[str, int]:
    return {item["name"]: item["count"] for item in result["search_facets"][field]["items"]}


def _bbox(dataset: dict[str, Any]) -> str:
    """A box inside the dataset's area (a tenth of its extent around the
    centre of its bounding box)."""
    minx, miny, maxx, maxy = shape(json.loads(dataset["spatial"])).bounds
    cx, cy, dx, dy = (minx + maxx) / 2, (miny + maxy) / 2, (maxx - minx) / 20, (maxy - miny) / 20
    return f"{cx - dx},{cy - dy},{cx + dx},{cy + dy}"


@pytest.mark.usefixtures("with_plugins")
def test_index_search_delete_and_one_node_down(cloud, organization, sysadmin):  # noqa: C901
    replicas = cloud.replicas()
    nodes = {r["port"] for r in replicas}
    assert len(nodes) == 2 and cloud.port in nodes
    other = (nodes - {cloud.port}).pop()
    # each shard has one replica on each node: either node alone holds the whole index
    for shard in {r["shard"] for r in replicas}:
        assert sorted(r["port"] for r in replicas if r["shard"] == shard) == sorted(nodes)

    # -- index through CKAN: 12 datasets of the three types, two areas ------------------
    org = organization["id"]
    created = []
    for i in range(12):
        dataset_type = ("dataset", "wifi-hotspots", "broadband-coverage")[i % 3]
        quarter = "stadtteil-horst" if i < 8 else "stadtteil-ueckendorf"
        created.append(call_as(sysadmin, "package_create", **dataset_dict(
            dataset_type, owner_org=org, title=f"Parkhäuser Cloud {i}",
            spatial_coverage=[quarter])))
    # the documents are spread over both shards
    leaders = [r for r in cloud.replicas() if r["leader"]]
    per_shard = [cloud.count_on(r) for r in leaders]
    assert sum(per_shard) == 12 and min(per_shard) > 0, per_shard

    # -- search: free text, facets, bbox --------------------------------------------------
    everything = _search(sysadmin, q="Parkhäuser", fq=f"owner_org:{org}")
    assert everything["count"] == 12
    assert _facet(everything, "dataset_type") == {
        "dataset": 4, "wifi-hotspots": 4, "broadband-coverage": 4}
    assert _facet(everything, "vocab_gk_quarter") == {
        "stadtteil-horst": 8, "stadtteil-ueckendorf": 4}
    horst_box, ueckendorf_box = _bbox(created[0]), _bbox(created[8])
    in_horst = _search(sysadmin, q="*:*", extras={"ext_bbox": horst_box})
    in_ueckendorf = _search(sysadmin, q="*:*", extras={"ext_bbox": ueckendorf_box})
    assert {r["name"] for r in in_horst["results"]} == {d["name"] for d in created[:8]}
    assert {r["name"] for r in in_ueckendorf["results"]} == {d["name"] for d in created[8:]}

    # -- delete ---------------------------------------------------------------------------
    call_as(sysadmin, "package_delete", id=created[11]["id"])
    after_delete = _search(sysadmin, q="Parkhäuser", fq=f"owner_org:{org}")
    assert after_delete["count"] == 11
    assert created[11]["name"] not in {r["name"] for r in after_delete["results"]}

    # -- node 2 stops while searches run -------------------------------------------------
    solr = search.make_connection()
    fq = f'+site_id:"{tk.config["ckan.site_id"]}" +owner_org:"{org}" +state:active'
    answers: list[Any] = []
    stop = threading.Event()

    def keep_searching() -> None:
        while not stop.is_set():
            try:
                answers.append(solr.search("*:*", fq=fq, rows=0).hits)
            except Exception as error:  # noqa: BLE001 - recorded and asserted below
                answers.append(error)
            time.sleep(0.05)

    searcher = threading.Thread(target=keep_searching)
    searcher.start()
    stopped = False
    try:
        time.sleep(0.5)
        cloud.node("stop", 2)
        stopped = True
        assert all(not r["active"] for r in cloud.replicas() if r["port"] == other)
        time.sleep(1)
        stop.set()
        searcher.join()
        errors = [a for a in answers if not isinstance(a, int)]
        assert not errors, f"{len(errors)} of {len(answers)} searches failed: {errors[:3]}"
        assert set(answers) == {11}, answers

        # searches through CKAN answer from the replicas on node 1
        down = _search(sysadmin, q="Parkhäuser", fq=f"owner_org:{org}")
        assert down["count"] == 11
        assert _facet(down, "vocab_gk_quarter") == {
            "stadtteil-horst": 8, "stadtteil-ueckendorf": 3}
        assert {r["name"] for r in _search(sysadmin, q="*:*", extras={
            "ext_bbox": horst_box})["results"]} == {d["name"] for d in created[:8]}

        # writes go to the shard leaders, all on node 1 once elected
        cloud.wait("a leader for every shard on node 1", lambda rs: all(
            any(r["leader"] and r["active"] for r in rs if r["shard"] == shard)
            for shard in {r["shard"] for r in rs}))
        while_down = call_as(sysadmin, "package_create", **dataset_dict(
            "dataset", owner_org=org, title="Parkhäuser während des Ausfalls",
            spatial_coverage=["stadtteil-ueckendorf"]))
        call_as(sysadmin, "package_delete", id=created[10]["id"])
        assert _search(sysadmin, q="Parkhäuser", fq=f"owner_org:{org}")["count"] == 11

        # -- node 2 is back: its replicas recover the writes they missed ------------------
        cloud.node("start", 2)
        stopped = False
    finally:
        stop.set()
        searcher.join()
        if stopped:
            cloud.node("start", 2)
    assert all(r["active"] for r in cloud.replicas())
    after = call_as(sysadmin, "package_create", **dataset_dict(
        "broadband-coverage", owner_org=org, title="Parkhäuser nach dem Ausfall",
        spatial_coverage=["stadtteil-ueckendorf"]))
    result = _search(sysadmin, q="Parkhäuser", fq=f"owner_org:{org}")
    assert result["count"] == 12
    names = {r["name"] for r in result["results"]}
    assert {while_down["name"], after["name"]} <= names
    assert not {created[10]["name"], created[11]["name"]} & names
    assert _facet(result, "vocab_gk_quarter") == {
        "stadtteil-horst": 8, "stadtteil-ueckendorf": 4}
    # every replica holds what its shard holds: node 2 caught up
    for shard in {r["shard"] for r in cloud.replicas()}:
        counts = {r["port"]: cloud.count_on(r) for r in cloud.replicas() if r["shard"] == shard}
        assert len(set(counts.values())) == 1, (shard, counts)
