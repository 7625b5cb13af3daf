"""Helpers shared by the harvester integration tests (WiFi and broadband):
creating a harvest source, running one harvest job gather -> fetch ->
import as ``ckan harvester run-test`` does, reading back the published
dataset, and mocking remote sources at the HTTP transport level with
``responses``. The fixture ``rsps`` lives in this
package's ``conftest.py``.
"""
from __future__ import annotations

import json
import re
from typing import Any

import ckan.plugins.toolkit as tk
import responses
from ckan import model
from ckan.tests import factories
from ckanext.harvest import queue
from ckanext.harvest.model import HarvestJob, HarvestObject, HarvestSource
from ckanext.harvest.tests import factories as harvest_factories
from ckanext.harvest.tests.lib import run_harvest_job

from ckanext.gelsenkirchen import compat


def create_source(source_type: str, url: str, config: dict[str, Any] | None = None, *,
                  name: str, title: str, **kwargs: Any) -> dict[str, Any]:
    """A harvest source of ``source_type`` owned by a new organisation."""
    sysadmin = factories.Sysadmin()
    org = factories.Organization()
    data = {"name": name, "title": title, "url": url, "source_type": source_type,
            "owner_org": org["id"], "config": json.dumps(config or {}), **kwargs}
    return tk.get_action("harvest_source_create")({"user": sysadmin["name"]}, data)


def api_headers(user: dict[str, Any]) -> dict[str, str]:
    """Headers that authenticate requests as ``user`` (an API token)."""
    return {"Authorization": factories.APIToken(user=user["name"])["token"]}


def org_member(org_id: str, role: str) -> dict[str, Any]:
    """A new user with ``role`` (member, editor, admin) in organization ``org_id``."""
    user = factories.User()
    tk.get_action("organization_member_create")(
        {"ignore_auth": True, "user": factories.Sysadmin()["name"]},
        {"id": org_id, "username": user["name"], "role": role})
    return user


def assert_released_by(source: dict[str, Any], user: dict[str, Any]) -> None:
    """The deletion guard of ``source`` is released (``accept_drop``) and
    the source's newest activity names ``user``."""
    shown = tk.get_action("harvest_source_show")({"ignore_auth": True, "use_cache": False},
                                                 {"id": source["id"]})
    assert json.loads(shown["config"])["accept_drop"] is True
    activity = tk.get_action("package_activity_list")({"ignore_auth": True},
                                                      {"id": source["id"]})[0]
    assert activity["user_id"] == user["id"]


def run_job(source: dict[str, Any], harvester_name: str) -> dict[str, Any]:
    """One harvest job gather -> fetch -> import, as `ckan harvester run-test` does."""
    harvester = queue.get_harvester(harvester_name)
    job = harvest_factories.HarvestJobObj(source=HarvestSource.get(source["id"]), run=False)
    results = run_harvest_job(job, harvester)
    job = HarvestJob.get(job.id)
    report = tk.get_action("harvest_job_report")({"ignore_auth": True}, {"id": job.id})
    errors = [e["message"] for e in report["gather_errors"]]
    object_errors = [e for o in report["object_errors"].values() for e in o["errors"]]
    statuses = [r["report_status"] for r in results.values()]
    return {"job": job, "results": results, "gather_errors": errors,
            "object_errors": object_errors, "statuses": statuses,
            "object_messages": [e["message"] for e in object_errors]}


def dataset_of(source: dict[str, Any]) -> dict[str, Any] | None:
    """The dataset the source's current harvest object published, if any."""
    obj = model.Session.query(HarvestObject).filter(
        HarvestObject.harvest_source_id == source["id"],
        HarvestObject.current == True).first()  # noqa: E712
    if obj is None:
        return None
    return tk.get_action("package_show")({"ignore_auth": True}, {"id": obj.package_id})


def rows_of(dataset: dict[str, Any], sort: str) -> list[dict[str, Any]]:
    """The DataStore rows of the dataset's table resource, in ``sort`` order."""
    data = next(r for r in dataset["resources"] if r.get("url_type") == "datastore")
    result = tk.get_action("datastore_search")({"ignore_auth": True},
                                               {"resource_id": data["id"], "limit": 1000,
                                                "sort": sort})
    return compat.datastore_records(result)


def field(dataset: dict[str, Any], name: str) -> Any:
    """A dataset field, or an extra (JSON-decoded where it is JSON)."""
    if name in dataset:
        return dataset[name]
    for extra in dataset.get("extras", []):
        if extra["key"] == name:
            try:
                return json.loads(extra["value"])
            except ValueError:
                return extra["value"]
    return None


def file_of(app: Any, dataset: dict[str, Any], fmt: str) -> bytes:
    """The bytes of the dataset's uploaded file resource of format ``fmt``."""
    res = next(r for r in dataset["resources"]
               if r["format"].lower() == fmt.lower() and r["url_type"] == "upload")
    return app.get(re.sub(r"^https?://[^/]+", "", res["url"])).get_data()


def mock(rsps: responses.RequestsMock, url: str, body: bytes | str | dict | list, *,
         status: int = 200, content_type: str | None = None,
         default_type: str = "application/octet-stream", **kwargs: Any) -> None:
    """Answer GET ``url`` with ``body``; a dict or list is sent as GeoJSON
    unless ``content_type`` says otherwise, other bodies as ``default_type``."""
    if isinstance(body, dict | list):
        body = json.dumps(body, ensure_ascii=False)
        content_type = content_type or "application/geo+json"
    rsps.add(responses.GET, url, body=body, status=status,
             content_type=content_type or default_type, **kwargs)
