"""Seed the demo portal through its own action API (idempotent).

Creates the organization "Stadt Gelsenkirchen" and registers the harvest
sources listed in demo/sources.json for the sample feeds, then runs each
harvest once. Sources whose harvester plugin is not installed are skipped
with a message.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import subprocess
import sys

import requests

ROOT = pathlib.Path(__file__).resolve().parent.parent
ORG = {"name": "stadt-gelsenkirchen", "title": "Stadt Gelsenkirchen",
       "description": "Die Vernetzte Stadt: offene Daten der Stadt Gelsenkirchen."}


def ckan_cli(ini: str, *args: str) -> str:
    out = subprocess.run([str(ROOT / ".venv/bin/ckan"), "-c", ini, *args],
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

    def action(action_name: str, **data: object) -> dict:
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

    sources = json.loads((ROOT / "demo/sources.json").read_text(encoding="utf-8"))
    for source in sources:
        source = {**source, "url": f"{opts.feeds}/{source['url']}", "owner_org": ORG["name"]}
        try:
            action("harvest_source_show", id=source["name"])
            # harvested on an earlier run; the consumers keep it current
            print(f"==> harvest source {source['name']} exists")
            continue
        except RuntimeError:
            pass
        try:
            action("harvest_source_create", **source)
        except RuntimeError as error:
            print(f"==> skipped harvest source {source['name']}: {error}")
            continue
        print(f"==> registered harvest source {source['name']}; harvesting it once")
        ckan_cli(opts.ini, "harvester", "run-test", source["name"])
    # Marks the jobs that run-test completed as Finished (ckanext-harvest does
    # that only here) and queues any new job for the consumers.
    ckan_cli(opts.ini, "harvester", "run")
    return 0


if __name__ == "__main__":
    sys.exit(main())
