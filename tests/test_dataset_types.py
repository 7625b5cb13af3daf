"""Dataset-type knowledge in one module: names, fields from the YAML, columns."""
from __future__ import annotations

import pathlib

import yaml

from ckanext.gelsenkirchen import dataset_types as dt
from ckanext.gelsenkirchen.dcat import profile
from ckanext.gelsenkirchen.harvesters import broadband, wifi
from ckanext.gelsenkirchen.harvesters.broadband import history
from ckanext.gelsenkirchen.helpers import broadband_page, wifi_page

ROOT = pathlib.Path(__file__).resolve().parents[1]


def test_type_fields_come_from_the_scheming_yaml():
    for dataset_type, file_name in (("wifi-hotspots", "wifi_hotspots.yaml"),
                                    ("broadband-coverage", "broadband_coverage.yaml")):
        raw = yaml.safe_load((ROOT / "schemas" / file_name).read_text(encoding="utf-8"))
        general = yaml.safe_load((ROOT / "schemas/dataset.yaml").read_text(encoding="utf-8"))
        common = {f["field_name"] for f in general["dataset_fields"]}
        assert [f["field_name"] for f in dt.type_fields(dataset_type)] == [
            f["field_name"] for f in raw["dataset_fields"] if f["field_name"] not in common]
    assert dt.type_fields("dataset") == [] and dt.type_fields("no-such-type") == []


def test_kinds_from_the_validators_as_the_profile_wrote_them_by_hand():
    """The (field, kind) lists dcat/profile.py kept by hand until they were
    read from the schema."""
    assert profile.extension_fields("wifi-hotspots") == [
        ("hotspot_count", "int"), ("access_point_count", "int"), ("operators", "list"),
        ("ssids", "list"), ("stadtteile_covered", "list"), ("fibre_backhaul_share", "decimal"),
        ("status_counts", "json")]
    assert profile.extension_fields("broadband-coverage") == [
        ("reference_date", "date"), ("source_attribution", "text"), ("speed_classes", "list"),
        ("households_50mbit_share", "decimal"), ("households_1gbit_share", "decimal"),
        ("households_ftth_share", "decimal"),
        ("schools_connected", "int"), ("schools_total", "int"),
        ("hospitals_connected", "int"), ("hospitals_total", "int"),
        ("business_parks_connected", "int"), ("business_parks_total", "int")]
    assert profile.provenance_fields() == [
        ("provenance_source_url", "text"), ("provenance_harvest_source", "text"),
        ("provenance_harvested_at", "datetime"), ("provenance_content_hash", "text")]


def test_one_home_for_type_names_and_published_columns():
    assert wifi.WifiHotspotHarvester.dataset_type == dt.WIFI
    assert broadband.BroadbandCoverageHarvester.dataset_type == dt.BROADBAND
    assert broadband.BroadbandCoverageHarvester.datastore_fields is dt.BROADBAND_COLUMNS
    assert wifi.WifiHotspotHarvester.datastore_fields is dt.WIFI_COLUMNS
    published = {c["id"] for c in dt.BROADBAND_COLUMNS}
    # the broadband page reads only columns the harvester writes
    for columns in (broadband_page._BB_AREA_COLUMNS, broadband_page._BB_DATE_COLUMNS,
                    broadband_page._BB_LEVEL_COLUMNS):
        assert set(columns) <= published
    for _label, candidates in broadband_page.BROADBAND_INDICATORS.values():
        assert set(candidates) <= published
    assert {"id", "name", "latitude", "longitude"} <= {c["id"] for c in dt.WIFI_COLUMNS}
    # the hotspot page shows columns the wifi harvester writes
    assert {c for c, _label in wifi_page.WIFI_COLUMNS} <= {c["id"] for c in dt.WIFI_COLUMNS}


def test_broadband_figures_are_fields_of_the_schema():
    rows = [{"id": "05513000@2025-06-30", "area_id": "05513000", "area_level": "stadt",
             "reference_date": "2025-06-30", "down_fn_hh_alle_50": 70.0,
             "down_fn_hh_alle_1000": 20.0, "down_fn_hh_ftthb_1000": 12.0,
             "schools_fibre": 8, "schools_no_fibre": 4}]
    names = {f["field_name"] for f in dt.type_fields(dt.BROADBAND)}
    assert set(history.city_figures(rows)) <= names
