"""The request mix of ``make bench-load`` (locust, run by bench/load.py).

Anonymous visitors of the portal: the home page, dataset searches with a
query and facets, a dataset page of each type, the API calls that
re-users make (``package_search`` with facets, ``datastore_search`` on the
hotspot table) and the DCAT catalogue. The weights are the share of each in
the mix; every user sends its next request as soon as the last one is
answered (no think time, as the wrk figures of issue 13), unless
BENCH_WAIT sets a wait in seconds. Every request is named by its page so
the statistics are per page; a response that is not 200, or a page without
its expected text, counts as an error.
"""
from __future__ import annotations

import json
import os
import random

from load_mix import WEIGHTS  # locust puts this file's folder on sys.path
from locust import FastHttpUser, constant, task

DATASTORE_RESOURCE = os.environ.get("BENCH_DATASTORE_RESOURCE", "")
WIFI_PAGE = os.environ.get("BENCH_WIFI_PAGE", "/wifi-hotspots/gk-wifi-hotspots")
BROADBAND_PAGE = os.environ.get("BENCH_BROADBAND_PAGE", "/broadband-coverage/gk-breitband")
DATASET_PAGE = os.environ.get("BENCH_DATASET_PAGE", "/dataset/gk-dataset-0")
QUERIES = ["WLAN", "Breitband", "Daten", "Schulen", "Gelsenkirchen", "Haushalt"]
FACETS = [{"tags": "Bildung"}, {"res_format": "CSV"}, {"organization": "stadt-gelsenkirchen"},
          {"vocab_gk_theme": "http://publications.europa.eu/resource/authority/data-theme/TECH"}]


class Visitor(FastHttpUser):
    wait_time = constant(float(os.environ.get("BENCH_WAIT", "0")))
    # a request never waits longer than this (it counts as an error then)
    network_timeout = 30.0
    connection_timeout = 10.0

    def _get(self, name: str, path: str, expect: str, **params: str) -> None:
        with self.client.get(path, params=params or None, name=name,
                             catch_response=True) as resp:
            if resp.status_code != 200:
                resp.failure(f"HTTP {resp.status_code}")
            elif expect not in (resp.text or ""):
                resp.failure(f"{expect!r} missing from the response")

    @task(WEIGHTS["home"])
    def home(self) -> None:
        self._get("home", "/", "<html")

    @task(WEIGHTS["search"])
    def search(self) -> None:
        self._get("search", "/dataset/", "<html", q=random.choice(QUERIES),
                  **random.choice(FACETS))

    @task(WEIGHTS["dataset"])
    def dataset(self) -> None:
        self._get("dataset", DATASET_PAGE, "<html")

    @task(WEIGHTS["wifi-hotspots"])
    def wifi(self) -> None:
        self._get("wifi-hotspots", WIFI_PAGE, "<html")

    @task(WEIGHTS["broadband-coverage"])
    def broadband(self) -> None:
        self._get("broadband-coverage", BROADBAND_PAGE, "<html")

    @task(WEIGHTS["api package_search"])
    def api_package_search(self) -> None:
        self._get("api package_search", "/api/3/action/package_search", '"success": true',
                  q=random.choice(QUERIES), rows="10",
                  **{"facet.field": json.dumps(["tags", "res_format", "organization"])})

    @task(WEIGHTS["api datastore_search"])
    def api_datastore_search(self) -> None:
        self._get("api datastore_search", "/api/3/action/datastore_search", '"success": true',
                  resource_id=DATASTORE_RESOURCE, limit="20",
                  q=random.choice(["Buer", "Horst", "Altstadt", "Erle", "aktiv"]))

    @task(WEIGHTS["catalog.ttl"])
    def catalog(self) -> None:
        self._get("catalog.ttl", "/catalog.ttl", "dcat:Catalog")
