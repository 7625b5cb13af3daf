"""Seed the demo portal through its own action API (idempotent).

Creates the organization "Stadt Gelsenkirchen" and registers the harvest
sources listed in demo/sources.json for the sample feeds, then harvests
them the way a scheduled portal does (ckan harvester run and the gather/fetch
consumers) and waits for the jobs to finish. Sources whose harvester plugin
is not installed are skipped with a message.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys
import time
from typing import Any

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
HARVEST_WAIT_SECONDS = 240
ORG = {"name": "stadt-gelsenkirchen", "title": "Stadt Gelsenkirchen",
       "url": "https://www.gelsenkirchen.de/",
       "description": "Die Vernetzte Stadt: offene Daten der Stadt Gelsenkirchen."}
# One dataset of the general type, entered as an editor would (invented demo content).
DATASET = {
    "type": "dataset", "name": "haushaltsplan-2026-demo",
    "title": "Haushaltsplan 2026 (Demo)",
    "notes": "Erfundene Demo-Daten: Erträge und Aufwendungen des Haushaltsplans "
             "nach Produktbereichen.",
    "tag_string": "Haushalt,Finanzen", "theme": ["ECON", "GOVE"],
    "license_id": "dl-by-de/2.0", "license_attribution_by_text": "Stadt Gelsenkirchen",
    "contact_name": "Referat Finanzen", "contact_email": "opendata@example.org",
    "frequency": "ANNUAL", "language": ["DEU"], "spatial_coverage": ["gesamtstadt"],
    "temporal_start": "2026-01-01", "temporal_end": "2026-12-31",
    "resources": [{"name": "Haushaltsplan 2026 (CSV)", "format": "CSV",
                   "url": "https://www.gelsenkirchen.de/haushalt-2026.csv"}],
}


def ckan_cli(ini: str, *args: str) -> str:
    # the ckan of this interpreter's virtualenv (make demo CKAN=2.10 runs .venv-ckan2.10)
    out = subprocess.run([str(pathlib.Path(sys.executable).parent / "ckan"), "-c", ini, *args],
                         check=True, capture_output=True, text=True)
    return out.stdout


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--ini", required=True)
    parser.add_argument("--portal", required=True)
    parser.add_argument("--feeds", required=True)
    opts = parser.parse_args()

    token = ckan_cli(opts.ini, "user", "token", "add", "admin", "demo-seed").strip().splitlines()[-1].strip()
    session = requests.Session()
    session.headers["Authorization"] = token

    def action(action_name: str, **data: Any) -> dict:
        resp = session.post(f"{opts.portal}/api/3/action/{action_name}", json=data, timeout=120)
        body = resp.json()
        if not body.get("success"):
            raise RuntimeError(f"{action_name}: {body.get('error')}")
        return body["result"]

    try:
        action("organization_show", id=ORG["name"])
        print(f"==> organization {ORG['title']!r} exists")
    except RuntimeError:
        action("organization_create", **ORG)
        print(f"==> created organization {ORG['title']!r}")
    try:
        action("package_show", id=DATASET["name"])
    except RuntimeError:
        action("package_create", owner_org=ORG["name"], **DATASET)
        print(f"==> created dataset {DATASET['title']!r}")

    sources = json.loads((ROOT / "demo/sources.json").read_text(encoding="utf-8"))
    registered = []
    for source in sources:
        source = {**source, "url": f"{opts.feeds}/{source['url']}", "owner_org": ORG["name"]}
        try:
            registered.append(action("harvest_source_show", id=source["name"]))
            print(f"==> harvest source {source['name']} exists")
            continue
        except RuntimeError:
            pass
        try:
            created = action("harvest_source_create", **source)
        except RuntimeError as error:
            print(f"==> skipped harvest source {source['name']}: {error}")
            continue
        registered.append(created)
        print(f"==> registered harvest source {source['name']}")
        try:
            # sends the first job straight to the gather consumer
            action("harvest_job_create", source_id=created["id"], run=True)
        except RuntimeError as error:  # a scheduled source may have its job already
            print(f"    (first job: {error})")

    # The scheduled path an operator's cron runs: `ckan harvester run` sends
    # new jobs to the gather consumer and marks completed jobs Finished.
    deadline = time.monotonic() + HARVEST_WAIT_SECONDS
    pending = {source["id"]: source["name"] for source in registered}
    while pending and time.monotonic() < deadline:
        ckan_cli(opts.ini, "harvester", "run")
        for source_id, name in list(pending.items()):
            jobs = action("harvest_job_list", source_id=source_id)
            if jobs and all(job["status"] == "Finished" for job in jobs):
                stats = jobs[0].get("stats") or {}
                print(f"==> harvested {name}: {json.dumps(stats, ensure_ascii=False)}")
                del pending[source_id]
        if pending:
            time.sleep(3)
    for name in pending.values():
        print(f"==> harvest of {name} has not finished within {HARVEST_WAIT_SECONDS} s: "
              "see /harvest/ and .run/demo/*-consumer.log")
    return 0


if __name__ == "__main__":
    sys.exit(main())
