"""The city row (household-weighted) and the published files."""
from __future__ import annotations

import csv
import io
import json

from ckanext.gelsenkirchen.harvesters.broadband import aggregation, exports, scheme

from .support import record, square


def test_city_summary_is_household_weighted():
    records = [record("a", 1000, 90.0, 40.0, schools_fibre=2),
               record("b", 3000, 70.0, 80.0, schools_fibre=1, schools_no_fibre=1),
               record("a", 1000, 10.0, date="2024-12-31")]
    city = aggregation.city_summary(records)
    # (1000*90 + 3000*70) / 4000 = 75; (1000*40 + 3000*80) / 4000 = 70
    assert city.measures == {"down_fn_hh_alle_50": 75.0, "down_fn_hh_alle_1000": 70.0}
    assert city.households == 4000 and city.reference_date == "2025-06-30"
    assert city.counts == {"schools_fibre": 3, "schools_no_fibre": 1}


def test_city_summary_uses_the_source_city_row_and_the_finest_level():
    city_row = record("05513000", 9, 1.0, level="stadt")
    assert aggregation.city_summary([record("a", 1, 50.0), city_row]) is city_row
    mixed = [record("n", 100, 10.0, level="stadtbezirk"), record("a", 100, 50.0),
             record("b", None, 70.0)]
    assert aggregation.city_summary(mixed).measures["down_fn_hh_alle_50"] == 50.0
    no_households = [record("a", None, 50.0), record("b", None, 70.0)]
    assert aggregation.city_summary(no_households).measures["down_fn_hh_alle_50"] == 60.0


def test_city_rows_are_added_per_reference_date():
    records = [record("a", 1, 50.0), record("a", 1, 60.0, date="2025-12-31")]
    out = aggregation.with_city_rows(records)
    cities = [r for r in out if r.area_level == "stadt"]
    assert [(c.reference_date, c.measures["down_fn_hh_alle_50"]) for c in cities] == [
        ("2025-06-30", 50.0), ("2025-12-31", 60.0)]


def test_csv_and_geojson_files():
    """The files the harvester publishes: the CSV has every row and the
    columns some row uses, with the formula guard of every CSV download;
    the GeoJSON the areas with a polygon at the latest reference date."""
    a = scheme.record_to_row(record("=a", 1000, 90.0, 40.0))
    b = scheme.record_to_row(record("b", None, 70.0))
    rows = list(csv.DictReader(io.StringIO(exports.rows_csv([a, b]).decode("utf-8"))))
    assert list(rows[0]) == ["area_id", "area_level", "reference_date", "households",
                             "down_fn_hh_alle_50", "down_fn_hh_alle_1000"]
    assert [r["area_id"] for r in rows] == ["'=a", "b"] and rows[1]["households"] == ""
    geometries = {"=a": square(7.0, 51.5)}
    doc = json.loads(exports.rows_geojson([a, b], geometries, "Quelle: Test"))
    assert doc["attribution"] == "Quelle: Test" and len(doc["features"]) == 1
    assert doc["features"][0]["properties"]["down_fn_hh_alle_50"] == 90.0
