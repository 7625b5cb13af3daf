"""The attribute scheme, reference dates and the source configuration."""
from __future__ import annotations

import pytest

from ckanext.gelsenkirchen import dataset_types
from ckanext.gelsenkirchen.harvesters.broadband import options, scheme

from .support import opts


def test_scheme_has_every_technology_and_speed():
    assert len(dataset_types.MEASURES) == 7 * 8
    assert "down_fn_hh_ftthb_1000" in dataset_types.MEASURES
    assert "down_fn_hh_alle_10" in dataset_types.MEASURES


@pytest.mark.parametrize("raw, expected", [
    ("2025-06-30", "2025-06-30"), ("2025-06", "2025-06-30"), ("2025-12", "2025-12-31"),
    ("06/2025", "2025-06-30"), ("30.06.2025", "2025-06-30"), ("Juni 2025", "2025-06-30"),
    ("Dezember 2024", "2024-12-31"), ("2025-06-30T00:00:00Z", "2025-06-30"),
    (1751241600000, "2025-06-30"), ("", None), (None, None), ("2025-13", None),
    ("soon", None), (2025, None),
    # found by make fuzz-parsers: OverflowError (timestamp out of range for time_t)
    (3.0065610713003995e+290, None), (10**30, None), (float("inf"), None),
])
def test_reference_dates_are_normalised(raw, expected):
    assert scheme.normalise_reference_date(raw) == expected


def test_valid_configuration():
    o = opts(format="gpkg", fields={"gig": "down_fn_hh_alle_1000"}, reference_date="2025-06",
             crs="EPSG:25832", layer="grid", attribution="Quelle: X", page_size=500)
    assert o.format == "gpkg" and o.reference_date == "2025-06-30"
    assert o.aliases["gig"] == "down_fn_hh_alle_1000"
    assert o.attribution == "Quelle: X"


def test_default_attribution_names_the_atlas():
    assert "Breitbandatlas | Gigabit-Grundbuch" in opts().attribution


@pytest.mark.parametrize("config, message", [
    ({"format": "shapefile"}, "format"),
    ({"fields": {"x": "down_fn_hh_warp_50"}}, "fields"),
    ({"fields": ["x"]}, "fields"),
    ({"reference_date": "bald"}, "reference_date"),
    ({"crs": "EPSG:999999"}, "crs"),
    ({"area_level": "bundesland"}, "area_level"),
    ({"page_size": 0}, "page_size"),
    ({"delimiter": ";;"}, "delimiter"),
    ({"arcgis_format": "pbf"}, "arcgis_format"),
])
def test_invalid_configuration_names_the_key(config, message):
    with pytest.raises(ValueError, match=message):
        options.parse_options(config)
