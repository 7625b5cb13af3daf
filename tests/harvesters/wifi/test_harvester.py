"""The WiFi harvester's source configuration, checked when a source is saved."""
from __future__ import annotations

import json

import pytest

from ckanext.gelsenkirchen.harvesters import wifi
from ckanext.gelsenkirchen.harvesters.config import ConfigError


@pytest.fixture
def harvester():
    return wifi.WifiHotspotHarvester()


@pytest.mark.parametrize("config, message", [
    ("[1]", "must be a JSON object"),
    ("{nope", "not valid JSON"),
    ('{"fromat": "csv"}', 'unknown key "fromat"'),
    ('{"format": "xlsx"}', '"format" must be one of'),
    ('{"crs": "EPSG:0"}', '"crs": unknown CRS'),
    ('{"crs": 25832}', '"crs" must be a string'),
    ('{"page_limit": 0}', '"page_limit" must be greater than 0'),
    ('{"max_drop_share": 1.5}', '"max_drop_share" must be a share'),
    ('{"columns": {"x": "RW"}}', '"columns.y" is required'),
    ('{"columns": {"farbe": "F"}}', '"columns.farbe" is not a known field'),
    ('{"defaults": {"name": "x"}}', '"defaults.name" cannot have a default'),
    ('{"dataset_name": "Große Daten"}', '"dataset_name" must be'),
    ('{"format": "meshviewer", "columns": {"id": "x"}}', '"columns" is not used'),
    ('{"bbox": [1, 2, 3]}', '"bbox": a bbox needs four numbers'),
])
def test_invalid_configs_name_the_key(harvester, config, message):
    with pytest.raises(ConfigError) as error:
        harvester.validate_config(config)
    assert message in str(error.value)


def test_valid_config_is_kept(harvester):
    config = json.dumps({"format": "csv", "crs": "EPSG:25832", "columns": {"id": "Nr"},
                         "accept_drop": True, "defaults": {"ssid": "GE"}, "page_limit": 5})
    assert harvester.validate_config(config) == config
    assert harvester.validate_config("") == ""
