"""What a harvest source may make its harvester write (issue 12, finding 2).

An organization editor may create and edit harvest sources; the harvester
publishes as the site user. A source's configuration must never make it
write a dataset of another organization, or the identity, organization,
visibility, state or resources of its own: refused when the source is
saved, naming the key, and again at every run (a configuration written
straight into the database included).
"""
from __future__ import annotations

import json

import ckan.plugins.toolkit as tk
import pytest
from ckan import model
from ckan.tests import factories
from ckanext.harvest import queue
from ckanext.harvest.model import HarvestObject, HarvestSource
from ckanext.harvest.tests import factories as harvest_factories

from ckanext.gelsenkirchen import dataset_types
from ckanext.gelsenkirchen.harvesters import config, publishing
from ckanext.gelsenkirchen.harvesters.broadband import BroadbandCoverageHarvester
from ckanext.gelsenkirchen.harvesters.config import ConfigError
from ckanext.gelsenkirchen.harvesters.wifi import WifiHotspotHarvester

from ..logic.data import dataset_dict
from . import support
from .wifi import support as ws

# ---------------------------------------------------------------- the rule (no database)

FORBIDDEN = ["id", "name", "type", "owner_org", "private", "state", "groups", "resources",
             "extras", "tags", "organization", "creator_user_id", "metadata_modified",
             "spatial", "political_geocoding_uri", "contributor_id", "provenance_source_url",
             "provenance_harvest_source"]


def test_editable_fields_come_from_the_scheming_yaml():
    for dataset_type in dataset_types.SCHEMA_FILES:
        editable = dataset_types.editable_fields(dataset_type)
        assert {"license_id", "contact_email", "theme", "tag_string", "spatial_coverage",
                "temporal_start", "hvd_category"} <= set(editable)
        # identity, organization (and visibility with it), derived and harvested fields
        assert not {"name", "owner_org", "spatial", "political_geocoding_uri",
                    "contributor_id"} & set(editable)
        assert not [f for f in editable if f.startswith("provenance_")]
        assert not {f["field_name"] for f in dataset_types.type_fields(dataset_type)} \
            & set(editable)


@pytest.mark.parametrize("harvester", [WifiHotspotHarvester(), BroadbandCoverageHarvester()],
                         ids=["wifi", "broadband"])
@pytest.mark.parametrize("key", FORBIDDEN + ["hotspot_count", "households_1gbit_share",
                                             "reference_date", "nonsense"])
def test_dataset_defaults_refuse_what_is_not_an_editable_field(harvester, key):
    with pytest.raises(ConfigError, match=rf'"dataset_defaults\.{key}" cannot be set'):
        harvester.validate_config(json.dumps({"dataset_defaults": {key: "x"}}))


@pytest.mark.parametrize("harvester", [WifiHotspotHarvester(), BroadbandCoverageHarvester()],
                         ids=["wifi", "broadband"])
def test_dataset_defaults_allow_editable_fields_with_plain_values(harvester):
    ok = {"license_id": "cc-by/4.0", "contact_email": "opendata@gelsenkirchen.de",
          "theme": ["TECH", "REGI"], "tag_string": "WLAN,Internet", "maintainer": "Team"}
    harvester.validate_config(json.dumps({"dataset_defaults": ok}))
    with pytest.raises(ConfigError, match=r'"dataset_defaults\.title": set it with '
                                          r'"dataset_title"'):
        harvester.validate_config(json.dumps({"dataset_defaults": {"title": "x"}}))
    for value in ({"id": "x"}, [["a"]], [1], True, None):
        with pytest.raises(ConfigError, match="must be a text, a number or a list of texts"):
            harvester.validate_config(json.dumps({"dataset_defaults": {"maintainer": value}}))


def test_publishing_checks_the_defaults_it_merges_again():
    with pytest.raises(ConfigError, match=r'"dataset_defaults\.owner_org"'):
        config.dataset_defaults({"dataset_defaults": {"owner_org": "b"}}, dataset_types.WIFI)
    assert config.dataset_defaults({}, dataset_types.WIFI) == {}


# ---------------------------------------------------------------- as an editor would try it

URL = f"{ws.FEEDS}/wlan.csv"


@pytest.fixture
def orgs():
    """Organization A with an editor (and an API token), organization B with
    a private dataset."""
    editor = factories.UserWithToken()
    org_a = factories.Organization(users=[{"name": editor["name"], "capacity": "editor"}])
    org_b = factories.Organization()
    sysadmin = factories.Sysadmin()
    victim = tk.get_action("package_create")(
        {"user": sysadmin["name"]},
        {**dataset_dict("dataset", owner_org=org_b["id"]), "name": "geheim-b", "private": True})
    return {"editor": editor, "a": org_a, "b": org_b, "victim": victim, "sysadmin": sysadmin}


def _api(app, action: str, token: str, data: dict, status: int) -> dict:
    response = app.post(f"/api/3/action/{action}", json=data,
                        headers={"Authorization": token}, status=status)
    return response.json


def _message(answer: dict) -> str:
    """The validation messages of an API error answer."""
    return " ".join(" ".join(v) if isinstance(v, list) else str(v)
                    for v in answer["error"].values())


def _source_data(org: dict, cfg: dict, **extra) -> dict:
    return {"name": "quelle-a", "title": "Quelle A", "url": URL,
            "source_type": "gelsenkirchen_wifi", "owner_org": org["id"],
            "frequency": "MANUAL", "config": json.dumps(cfg), **extra}


def _attack(victim: dict, org_b: dict) -> dict:
    return {"dataset_defaults": {"id": victim["id"], "name": victim["name"],
                                 "owner_org": org_b["id"], "private": False}}


def _unchanged(victim: dict) -> None:
    now = tk.get_action("package_show")({"ignore_auth": True}, {"id": victim["id"]})
    for key in ("name", "title", "owner_org", "private", "state", "metadata_modified",
                "notes", "license_id"):
        assert now[key] == victim[key], key
    assert [r["id"] for r in now["resources"]] == [r["id"] for r in victim["resources"]]


@pytest.mark.usefixtures("with_plugins", "plugin_db")
@pytest.mark.parametrize("key", ["id", "owner_org", "private", "groups", "state", "type",
                                 "resources", "name"])
def test_editor_cannot_save_a_source_that_targets_another_organization(app, orgs, key):
    victim, token = orgs["victim"], orgs["editor"]["token"]
    values = {"id": victim["id"], "owner_org": orgs["b"]["id"], "private": False,
              "groups": [{"name": "x"}], "state": "deleted", "type": "harvest",
              "resources": [], "name": victim["name"]}
    cfg = {"dataset_defaults": {key: values[key]}}
    error = _api(app, "harvest_source_create", token, _source_data(orgs["a"], cfg), 409)
    assert f'"dataset_defaults.{key}" cannot be set by a harvest source' in \
        _message(error), error
    # a valid source of A, then the same configuration as an update or a patch
    created = _api(app, "harvest_source_create", token,
                   _source_data(orgs["a"], {"format": "csv"}), 200)["result"]
    error = _api(app, "harvest_source_update", token,
                 _source_data(orgs["a"], cfg, id=created["id"]), 409)
    assert f'"dataset_defaults.{key}"' in _message(error)
    error = _api(app, "package_patch", token,
                 {"id": created["id"], "config": json.dumps(cfg)}, 409)
    assert f'"dataset_defaults.{key}"' in _message(error)
    _unchanged(victim)


@pytest.mark.usefixtures("with_plugins", "plugin_db")
def test_editor_cannot_name_the_dataset_after_another_organizations(app, orgs):
    victim, token = orgs["victim"], orgs["editor"]["token"]
    cfg = {"dataset_name": victim["name"]}
    error = _api(app, "harvest_source_create", token, _source_data(orgs["a"], cfg), 409)
    assert '"dataset_name": "geheim-b" is the name of a dataset of another organization' in \
        _message(error), error
    created = _api(app, "harvest_source_create", token,
                   _source_data(orgs["a"], {"dataset_name": "wlan-a"}), 200)["result"]
    error = _api(app, "harvest_source_update", token,
                 _source_data(orgs["a"], cfg, id=created["id"]), 409)
    assert '"dataset_name": "geheim-b"' in _message(error)
    # a name of the editor's own organization stays allowed (a free variant is used)
    own = tk.get_action("package_create")(
        {"user": orgs["sysadmin"]["name"]}, {**dataset_dict("dataset", owner_org=orgs["a"]["id"]),
                                "name": "eigener-datensatz"})
    _api(app, "harvest_source_update", token,
         _source_data(orgs["a"], {"dataset_name": own["name"]}, id=created["id"]), 200)
    _unchanged(victim)


@pytest.mark.usefixtures("with_plugins", "plugin_db")
def test_who_may_not_save_the_source_learns_nothing(app, orgs):
    outsider = factories.UserWithToken()
    error = _api(app, "harvest_source_create", outsider["token"],
                 _source_data(orgs["a"], {"dataset_name": orgs["victim"]["name"]}), 403)
    assert "geheim-b" not in json.dumps(error) and "another organization" not in json.dumps(error)


def _run_as_scheduled(source: dict) -> dict:
    return support.run_job(source, "gelsenkirchen_wifi")


def _write_config(source_id: str, cfg: dict) -> None:
    """The configuration straight into the database, past every check on save."""
    HarvestSource.get(source_id).config = json.dumps(cfg)
    model.Session.commit()


@pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.allow_private_addresses", "true")
@pytest.mark.usefixtures("with_plugins", "plugin_db")
@pytest.mark.parametrize("cfg", ["defaults", "name"])
def test_a_configuration_written_past_the_checks_is_refused_at_the_next_run(
        app, rsps, orgs, cfg):
    victim, token = orgs["victim"], orgs["editor"]["token"]
    ws.mock(rsps, URL, ws.city_csv(ws.hotspots(3)))
    source = _api(app, "harvest_source_create", token,
                  _source_data(orgs["a"], {"format": "csv"}), 200)["result"]
    first = _run_as_scheduled(source)
    assert first["statuses"] == ["added"], first
    own = ws.dataset_of(source)
    assert own["owner_org"] == orgs["a"]["id"]
    bad = _attack(victim, orgs["b"]) if cfg == "defaults" else {"dataset_name": victim["name"]}
    _write_config(source["id"], {"format": "csv", **bad})
    ws.mock(rsps, URL, ws.city_csv(ws.hotspots(4)))
    out = _run_as_scheduled(source)
    key = "dataset_defaults.id" if cfg == "defaults" else "dataset_name"
    assert any(f'"{key}"' in e for e in out["gather_errors"]), out
    _unchanged(victim)
    assert ws.dataset_of(source)["metadata_modified"] == own["metadata_modified"]


@pytest.mark.ckan_config("ckanext.gelsenkirchen.harvest.allow_private_addresses", "true")
@pytest.mark.usefixtures("with_plugins", "plugin_db")
def test_a_configuration_changed_between_gather_and_import_is_refused_at_import(rsps, orgs):
    victim = orgs["victim"]
    ws.mock(rsps, URL, ws.city_csv(ws.hotspots(3)))
    source = ws.create_source(URL, {"format": "csv"})
    harvester = queue.get_harvester("gelsenkirchen_wifi")
    job = harvest_factories.HarvestJobObj(source=HarvestSource.get(source["id"]), run=False)
    [object_id] = harvester.gather_stage(job)
    obj = HarvestObject.get(object_id)
    assert harvester.fetch_stage(obj) is True
    _write_config(source["id"], {"format": "csv", **_attack(victim, orgs["b"])})
    assert harvester.import_stage(obj) is False
    report = tk.get_action("harvest_job_report")({"ignore_auth": True}, {"id": job.id})
    messages = [e["message"] for o in report["object_errors"].values() for e in o["errors"]]
    assert any('"dataset_defaults.id" cannot be set' in m for m in messages), messages
    _unchanged(victim)
    assert model.Package.get(publishing.stable_ids_of(source["id"])["dataset"]) is None
