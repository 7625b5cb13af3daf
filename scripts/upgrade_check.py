"""What scripts/test-upgrade.sh checks on the portal after each upgrade,
through the portal's own action API (as a user or an operator would see it).

  record   FILE   the harvested datasets, their DataStore rows and the
                  harvest jobs of the portal as it is now (before upgrading)
  verify   FILE   the same datasets, found by search, with the same
                  DataStore rows; their pages render
  harvest  FILE   the scheduled sources' next harvest (made due by the
                  caller) runs through `ckan harvester run` and the
                  consumers, finishes without errors and keeps the rows

Every failure ends the program with status 1 and a line saying what differs.
"""
from __future__ import annotations

import argparse
import datetime
import json
import pathlib
import subprocess
import sys
import time
from typing import Any

import requests

HARVEST_WAIT_SECONDS = 300


class Portal:
    def __init__(self, ini: str, url: str) -> None:
        self.ini, self.url = ini, url.rstrip("/")
        self.session = requests.Session()
        token = self.cli("user", "token", "add", "admin", "upgrade-check").strip().splitlines()[-1]
        # CKAN 2.11 reads API tokens from apitoken_header_name, which falls
        # back to the apikey_header_name of a 2.10-generated ini
        # (X-CKAN-API-Key); CKAN 2.10 reads Authorization as well
        self.session.headers["Authorization"] = token.strip()
        self.session.headers["X-CKAN-API-Key"] = token.strip()

    def cli(self, *args: str) -> str:
        # the ckan of this interpreter's virtualenv: the CKAN version under test
        ckan = pathlib.Path(sys.executable).parent / "ckan"
        return subprocess.run([str(ckan), "-c", self.ini, *args], check=True,
                              capture_output=True, text=True, timeout=600).stdout

    def action(self, name: str, **data: Any) -> Any:
        resp = self.session.post(f"{self.url}/api/3/action/{name}", json=data, timeout=120)
        body = resp.json()
        if not body.get("success"):
            fail(f"{name}({data}): {body.get('error')}")
        return body["result"]


def fail(message: str) -> None:
    print(f"UPGRADE CHECK FAILED: {message}", file=sys.stderr)
    sys.exit(1)


def _same_value(value: Any) -> Any:
    """A DataStore value as compared across versions: timestamps as instants
    (CKAN 2.10 and 2.11 write 2025-11-20T09:15:00.000, 2.12 drops the .000)."""
    if isinstance(value, str) and len(value) >= 19 and value[10:11] == "T":
        try:
            return datetime.datetime.fromisoformat(value).isoformat()
        except ValueError:
            return value
    return value


def snapshot(portal: Portal) -> dict[str, Any]:
    """Harvested datasets with their DataStore tables, and each source's jobs."""
    sources = {}
    for source in portal.action("harvest_source_list"):
        jobs = portal.action("harvest_job_list", source_id=source["id"])
        newest = max(jobs, key=lambda j: j["created"]) if jobs else {}
        sources[source.get("title") or source["id"]] = {
            "id": source["id"], "frequency": source.get("frequency"), "jobs": len(jobs),
            "statuses": sorted({job["status"] for job in jobs}),
            # (a demo feed has records the harvester reports and skips)
            "errored": (newest.get("stats") or {}).get("errored", 0)}
    # every dataset but the harvest sources themselves (the demo adds one by hand)
    found = portal.action("package_search", q="*:*", fq="-dataset_type:harvest", rows=100)
    datasets = {}
    for hit in found["results"]:
        pkg = portal.action("package_show", id=hit["name"])
        tables = {}
        for res in pkg["resources"]:
            if res.get("datastore_active"):
                rows = portal.action("datastore_search", resource_id=res["id"], limit=1,
                                     sort="_id")
                first = rows["records"][0] if rows["records"] else {}
                tables[res["id"]] = {"total": rows["total"],
                                     "first": {k: _same_value(v) for k, v in first.items()}}
        datasets[pkg["name"]] = {"metadata_modified": pkg["metadata_modified"],
                                 "resources": len(pkg["resources"]), "tables": tables}
    return {"count": found["count"], "datasets": datasets, "sources": sources}


def record(portal: Portal, state: pathlib.Path) -> None:
    snap = snapshot(portal)
    if not snap["datasets"]:
        fail("the portal has no harvested datasets to upgrade")
    if not any(d["tables"] for d in snap["datasets"].values()):
        fail("no harvested dataset has DataStore rows")
    unfinished = {n: s["statuses"] for n, s in snap["sources"].items()
                  if s["statuses"] != ["Finished"]}
    if unfinished:
        fail(f"harvest jobs not finished before the upgrade: {unfinished}")
    state.write_text(json.dumps(snap, indent=2, ensure_ascii=False), encoding="utf-8")
    tables = sum(len(d["tables"]) for d in snap["datasets"].values())
    print(f"==> recorded {len(snap['datasets'])} harvested datasets, {tables} DataStore "
          f"tables, {len(snap['sources'])} harvest sources")


def compare(before: dict[str, Any], now: dict[str, Any]) -> None:
    if now["count"] != before["count"]:
        fail(f"search finds {now['count']} harvested datasets, {before['count']} before")
    for name, old in before["datasets"].items():
        new = now["datasets"].get(name)
        if new is None:
            fail(f"dataset {name} is missing (or not in the search index)")
        if new["tables"] != old["tables"]:
            fail(f"DataStore rows of {name} differ: {new['tables']} != {old['tables']}")
        if new["resources"] != old["resources"]:
            fail(f"{name} has {new['resources']} resources, {old['resources']} before")


def verify(portal: Portal, state: pathlib.Path) -> None:
    before = json.loads(state.read_text(encoding="utf-8"))
    now = snapshot(portal)
    compare(before, now)
    for name, old in before["datasets"].items():
        if now["datasets"][name]["metadata_modified"] != old["metadata_modified"]:
            fail(f"the upgrade changed {name}")
        page = portal.session.get(f"{portal.url}/dataset/{name}", timeout=60)
        if page.status_code != 200:
            fail(f"/dataset/{name} answers {page.status_code}")
    for name, source in before["sources"].items():
        if now["sources"].get(name, {}).get("jobs") != source["jobs"]:
            fail(f"harvest source {name}: jobs {now['sources'].get(name)} != {source}")
    print(f"==> {len(before['datasets'])} harvested datasets, their DataStore rows, pages "
          "and harvest jobs are as before the upgrade")


def next_harvest(portal: Portal, state: pathlib.Path) -> None:
    before = json.loads(state.read_text(encoding="utf-8"))
    scheduled = {n: s for n, s in before["sources"].items() if s["frequency"] != "MANUAL"}
    if not scheduled:
        fail("no scheduled harvest source")
    deadline = time.monotonic() + HARVEST_WAIT_SECONDS
    waiting = dict(scheduled)
    while waiting and time.monotonic() < deadline:
        portal.cli("harvester", "run")  # what the operator's cron runs
        for name, source in list(waiting.items()):
            jobs = portal.action("harvest_job_list", source_id=source["id"])
            if len(jobs) > source["jobs"] and all(j["status"] == "Finished" for j in jobs):
                newest = max(jobs, key=lambda j: j["created"])
                stats = newest.get("stats") or {}
                if stats.get("errored", 0) > source["errored"] or newest.get("gather_errors"):
                    fail(f"the scheduled harvest of {name} failed: {stats} "
                         f"{newest.get('gather_errors')}")
                print(f"==> scheduled harvest of {name} finished: {json.dumps(stats)}")
                del waiting[name]
        if waiting:
            time.sleep(3)
    if waiting:
        fail(f"no new finished job within {HARVEST_WAIT_SECONDS} s for {sorted(waiting)}")
    compare(before, snapshot(portal))
    print("==> after the scheduled harvest the datasets and DataStore rows are unchanged "
          "(the feeds are)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("step", choices=["record", "verify", "harvest"])
    parser.add_argument("state", type=pathlib.Path)
    parser.add_argument("--ini", required=True)
    parser.add_argument("--portal", required=True)
    opts = parser.parse_args()
    portal = Portal(opts.ini, opts.portal)
    {"record": record, "verify": verify, "harvest": next_harvest}[opts.step](portal, opts.state)


if __name__ == "__main__":
    main()
