"""Helpers for the WiFi harvester tests: sample sources and a harvest runner.

Remote sources are mocked at the HTTP transport level with ``responses``;
everything else (PostgreSQL, DataStore, Redis, pgsolr) is real.
"""
from __future__ import annotations

import json
from typing import Any

import ckan.plugins.toolkit as tk
import responses
from ckan.tests import factories
from ckanext.harvest import queue
from ckanext.harvest.model import HarvestJob, HarvestObject
from ckanext.harvest.tests import factories as harvest_factories
from ckanext.harvest.tests.lib import run_harvest_job
from pyproj import Transformer

FEEDS = "https://daten.example.org"
HEADER = "ID;Name;Art;Traeger;PLZ;Ort;Strasse;Bezirk;Stadtteil;X;Y;SSID;Anzahl_AP;Anbindung;Status"
_to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)


def utm(lon: float, lat: float) -> tuple[str, str]:
    x, y = _to_utm.transform(lon, lat)
    return f"{x:.2f}".replace(".", ","), f"{y:.2f}".replace(".", ",")


def city_row(ident: str, name: str, lon: float = 7.095, lat: float = 51.51, *,
             stadtteil: str = "Altstadt", aps: str = "2", backhaul: str = "Glasfaser",
             status: str = "in Betrieb", x: str | None = None, y: str | None = None) -> str:
    ux, uy = utm(lon, lat)
    return ";".join([ident, name, "Außenbereich", "Stadt Gelsenkirchen", "45879", "Gelsenkirchen",
                     "Ahstraße 1", "", stadtteil, ux if x is None else x, uy if y is None else y,
                     "Free WiFi Gelsenkirchen", aps, backhaul, status])


def city_csv(rows: list[str], encoding: str = "utf-8", header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def hotspots(n: int, start: int = 1) -> list[str]:
    """n valid rows spread over Altstadt (odd) and Buer (even)."""
    out = []
    for i in range(start, start + n):
        if i % 2:
            out.append(city_row(f"GE-{i:03d}", f"Hotspot Altstadt {i}", 7.075 + (i % 10) * 0.003,
                                51.503 + (i % 7) * 0.002, stadtteil="Altstadt"))
        else:
            out.append(city_row(f"GE-{i:03d}", f"Hotspot Buer {i}", 7.045 + (i % 10) * 0.005,
                                51.585 + (i % 7) * 0.003, stadtteil="Buer", backhaul="VDSL"))
    return out


def feature(ident: Any, lon: Any, lat: Any, **props: Any) -> dict[str, Any]:
    geometry = None if lon is None else {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "id": ident, "geometry": geometry,
            "properties": {"name": f"Hotspot {ident}", "betreiber": "Stadtwerke", **props}}


def collection(features: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, **extra}


def create_source(url: str, config: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    sysadmin = factories.Sysadmin()
    org = factories.Organization()
    data = {"name": kwargs.pop("name", "wlan-quelle"), "title": kwargs.pop("title", "WLAN-Hotspots Test"),
            "url": url, "source_type": "gelsenkirchen_wifi", "owner_org": org["id"],
            "config": json.dumps(config or {}), **kwargs}
    return tk.get_action("harvest_source_create")({"user": sysadmin["name"]}, data)


def run(source: dict[str, Any]) -> dict[str, Any]:
    """One harvest job gather -> fetch -> import, as `ckan harvester run-test` does."""
    harvester = queue.get_harvester("gelsenkirchen_wifi")
    job = harvest_factories.HarvestJobObj(source=_source_obj(source["id"]), run=False)
    results = run_harvest_job(job, harvester)
    job = HarvestJob.get(job.id)
    report = tk.get_action("harvest_job_report")({"ignore_auth": True}, {"id": job.id})
    errors = [e["message"] for e in report["gather_errors"]]
    object_errors = [e for o in report["object_errors"].values() for e in o["errors"]]
    statuses = [r["report_status"] for r in results.values()]
    return {"job": job, "results": results, "gather_errors": errors,
            "object_errors": object_errors, "statuses": statuses,
            "object_messages": [e["message"] for e in object_errors]}


def _source_obj(source_id: str):
    from ckanext.harvest.model import HarvestSource
    return HarvestSource.get(source_id)


def dataset_of(source: dict[str, Any]) -> dict[str, Any] | None:
    from ckan import model
    obj = model.Session.query(HarvestObject).filter(
        HarvestObject.harvest_source_id == source["id"],
        HarvestObject.current == True).first()  # noqa: E712
    if obj is None:
        return None
    return tk.get_action("package_show")({"ignore_auth": True}, {"id": obj.package_id})


def rows_of(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    data = next(r for r in dataset["resources"] if r.get("url_type") == "datastore")
    result = tk.get_action("datastore_search")({"ignore_auth": True},
                                               {"resource_id": data["id"], "limit": 1000,
                                                "sort": "id"})
    return result["records"]


def field(dataset: dict[str, Any], name: str) -> Any:
    if name in dataset:
        return dataset[name]
    for extra in dataset.get("extras", []):
        if extra["key"] == name:
            try:
                return json.loads(extra["value"])
            except ValueError:
                return extra["value"]
    return None


def mock(rsps: responses.RequestsMock, url: str, body: bytes | str | dict | list, *,
         status: int = 200, content_type: str = "text/csv", headers: dict | None = None) -> None:
    if isinstance(body, dict | list):
        body = json.dumps(body, ensure_ascii=False)
        content_type = "application/geo+json" if content_type == "text/csv" else content_type
    rsps.add(responses.GET, url, body=body, status=status, content_type=content_type,
             headers=headers or {})
