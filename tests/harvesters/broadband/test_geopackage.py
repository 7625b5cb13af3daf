"""GeoPackage grids: reading cells, and their aggregation to Stadtteile and the city."""
from __future__ import annotations

import sqlite3
import struct

import pytest
import shapely

from ckanext.gelsenkirchen.harvesters.broadband import aggregation, geopackage
from ckanext.gelsenkirchen.harvesters.source import ParseError, limits

from .support import gpkg_blob, grid_cells, opts, stadtteile, utm_cell, write_gpkg


def test_gpkg_geometry_header_is_stripped():
    point = shapely.Point(1, 2)
    for big_endian in (False, True):
        for envelope in (False, True):
            wkb = geopackage.gpkg_geometry_to_wkb(gpkg_blob(point, envelope=envelope,
                                                    big_endian=big_endian))
            assert shapely.from_wkb(wkb).equals(point)
    assert geopackage.gpkg_geometry_to_wkb(gpkg_blob(point, empty=True)) is None
    with pytest.raises(ParseError, match="GP"):
        geopackage.gpkg_geometry_to_wkb(shapely.to_wkb(point))


def test_gpkg_grid_is_aggregated_household_weighted():
    grid, parsed = geopackage.read_geopackage(write_gpkg(grid_cells()), opts())
    assert parsed.stats["cells"] == 4 and parsed.stats["layer"] == "grid"
    boundaries = stadtteile()
    assert [(b.code, b.name) for b in boundaries] == [("stadtteil-altstadt", "Altstadt"),
                                                      ("stadtteil-buer", "Buer")]
    result = aggregation.aggregate_grid(grid, parsed, boundaries, opts())
    by_id = {r.area_id: r for r in result.records}
    assert set(by_id) == {"stadtteil-altstadt", "stadtteil-buer", "05513000"}
    altstadt, buer = by_id["stadtteil-altstadt"], by_id["stadtteil-buer"]
    city = by_id["05513000"]
    # hand-computed: (10*100 + 30*50) / 40 = 62.5; (10*90 + 30*10) / 40 = 30
    assert altstadt.measures == {"down_fn_hh_alle_50": 62.5, "down_fn_hh_alle_1000": 30.0}
    assert altstadt.households == 40 and altstadt.aggregated_from == 2
    assert altstadt.area_name == "Altstadt" and altstadt.reference_date == "2025-06-30"
    assert altstadt.counts == {"schools_fibre": 1}
    assert buer.measures == {"down_fn_hh_alle_50": 20.0, "down_fn_hh_alle_1000": 0.0}
    # city: (10*100 + 30*50 + 60*20) / 100 = 37; (900 + 300 + 0) / 100 = 12
    assert city.measures == {"down_fn_hh_alle_50": 37.0, "down_fn_hh_alle_1000": 12.0}
    assert city.households == 100 and city.area_level == "stadt" and city.aggregated_from == 3
    assert city.counts == {"schools_fibre": 3}
    assert any("another ags" in n for n in result.notes)


def test_gpkg_without_households_weights_each_cell():
    cells = [{k: v for k, v in c.items() if k != "households"} for c in grid_cells()[:2]]
    grid, parsed = geopackage.read_geopackage(write_gpkg(cells), opts())
    result = aggregation.aggregate_grid(grid, parsed, stadtteile(), opts())
    altstadt = next(r for r in result.records if r.area_id == "stadtteil-altstadt")
    assert altstadt.measures["down_fn_hh_alle_50"] == 75.0 and altstadt.households is None


def test_gpkg_invalid_cells_are_skipped_and_cells_outside_reported():
    cells = grid_cells()
    cells.append({**cells[0], "down_fn_hh_alle_50": 120.0})
    cells.append({**cells[0], "geom": utm_cell(7.2, 51.7)})  # in the city, in no Stadtteil
    grid, parsed = geopackage.read_geopackage(write_gpkg(cells), opts())
    assert parsed.skipped[0].row == 5
    assert parsed.skipped[0].reason.startswith("percentage outside 0-100")
    result = aggregation.aggregate_grid(grid, parsed, stadtteile(), opts())
    assert any("1 city cell(s) lie in no Stadtteil" in n for n in result.notes)
    city = next(r for r in result.records if r.area_level == "stadt")
    assert city.aggregated_from == 4


def test_gpkg_two_reference_dates_give_rows_for_each():
    cells = grid_cells()[:3] + [{**c, "stichtag": "2025-12"} for c in grid_cells()[:3]]
    grid, parsed = geopackage.read_geopackage(write_gpkg(cells), opts())
    result = aggregation.aggregate_grid(grid, parsed, stadtteile(), opts())
    assert sorted({r.reference_date for r in result.records}) == ["2025-06-30", "2025-12-31"]
    assert len(result.records) == 6


def test_gpkg_layer_choice():
    data = write_gpkg(grid_cells(), extra_layers=("other",))
    with pytest.raises(ParseError, match="several feature layers"):
        geopackage.read_geopackage(data, opts())
    grid, _ = geopackage.read_geopackage(data, opts(layer="grid"))
    assert grid.layer == "grid"
    with pytest.raises(ParseError, match="layer 'nope' not found"):
        geopackage.read_geopackage(data, opts(layer="nope"))


@pytest.mark.parametrize("data, message", [
    (b"", "not an SQLite"),
    (b"PK\x03\x04 a zip file", "not an SQLite"),
    (b"SQLite format 3\x00" + b"\xff" * 2000, "corrupt"),
])
def test_corrupt_gpkg_is_a_clear_error(data, message):
    with pytest.raises(ParseError, match=message):
        geopackage.read_geopackage(data, opts())


def test_truncated_gpkg_is_a_clear_error():
    data = write_gpkg(grid_cells())
    with pytest.raises(ParseError):
        geopackage.read_geopackage(data[: len(data) // 2], opts())


def test_gpkg_with_unexpected_layout():
    with pytest.raises(ParseError, match="gpkg_contents"):
        geopackage.read_geopackage(write_gpkg(grid_cells(), drop_tables=("gpkg_contents",)), opts())
    with pytest.raises(ParseError, match="no 'ags' column"):
        geopackage.read_geopackage(write_gpkg([{k: v for k, v in c.items() if k != "ags"}
                                       for c in grid_cells()]), opts())
    with pytest.raises(ParseError, match="no down_fn_hh"):
        geopackage.read_geopackage(write_gpkg([{"geom": utm_cell(7, 51.5), "ags": "1"}]), opts())
    with pytest.raises(ParseError, match="srs_id 3035"):
        geopackage.read_geopackage(write_gpkg(grid_cells(), srs_id=3035), opts())


def test_gpkg_cell_with_a_broken_geometry_is_skipped():
    cells = grid_cells()
    cells[1] = {**cells[1], "geom": b"not a geometry"}
    grid, parsed = geopackage.read_geopackage(write_gpkg(cells), opts())
    assert len(grid.reference_dates) == 3
    assert parsed.skipped[0].row == 2 and "GP" in parsed.skipped[0].reason


def test_gpkg_corrupt_wkb_is_an_error():
    cells = grid_cells()
    cells[1] = {**cells[1], "geom": b"GP\x00\x01" + struct.pack("<i", 25832) + b"\x01\x03garbage"}
    with pytest.raises(ParseError, match="corrupt WKB"):
        geopackage.read_geopackage(write_gpkg(cells), opts())


# ---------------------------------------------------------------- hostile files (issue 12, finding 3)

def _altered(data: bytes, *statements: str) -> bytes:
    """A GeoPackage of write_gpkg changed by SQL (the attacker's own file)."""
    con = sqlite3.connect(":memory:")
    con.deserialize(data)
    for statement in statements:
        con.execute(statement)
    con.commit()
    out = con.serialize()
    con.close()
    return out


def test_gpkg_generated_columns_are_not_evaluated():
    """SELECT * evaluated generated columns: an expression the file stores
    ran in the harvester (here one that fails; a 24 KB file's took 5 s and
    1.2 GB). Only stored columns are read."""
    data = _altered(write_gpkg(grid_cells()), "ALTER TABLE grid ADD COLUMN trap TEXT "
                    "GENERATED ALWAYS AS (abs(-9223372036854775808)) VIRTUAL")  # integer overflow
    grid, result = geopackage.read_geopackage(data, opts())
    assert len(grid.ags) == len(grid_cells()) and not result.skipped


@pytest.mark.parametrize("statements, message", [
    (["ALTER TABLE grid RENAME TO grid_table", "CREATE VIEW grid AS WITH RECURSIVE n(i) AS "
      "(SELECT 1 UNION ALL SELECT i + 1 FROM n) SELECT * FROM grid_table, n"],
     "layer table 'grid' is missing"),
    (["ALTER TABLE gpkg_contents RENAME COLUMN data_type TO kind", "ALTER TABLE gpkg_contents "
      "ADD COLUMN data_type TEXT GENERATED ALWAYS AS (kind) VIRTUAL"],
     "gpkg_contents has no stored column"),
])
def test_gpkg_views_and_computed_metadata_are_refused(statements, message):
    """A view or a computed column runs SQL stored in the file: refused
    before it is queried (the view here never ends)."""
    data = _altered(write_gpkg(grid_cells()), *statements)
    with pytest.raises(ParseError, match=message):
        geopackage.read_geopackage(data, opts())


def test_gpkg_time_budget_and_length_limit_end_with_a_parse_error():
    data = write_gpkg(grid_cells())
    many = _altered(data, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n "
                    "WHERE i < 5000) INSERT INTO grid (geom) SELECT geom FROM grid, n")
    geopackage.read_geopackage(many, opts())
    with pytest.raises(ParseError, match=r"took more than 0 s .*geopackage_seconds"):
        geopackage.read_geopackage(many, opts(), limits.ParseLimits(geopackage_seconds=0))
    huge = _altered(data, "UPDATE grid SET ags = hex(zeroblob(600000)) WHERE fid = 1")
    with pytest.raises(ParseError, match="too big"):
        geopackage.read_geopackage(huge, opts(),
                                   limits.ParseLimits(geopackage_max_value_bytes=1_000_000))


def test_gpkg_is_opened_read_only():
    con = geopackage._open_sqlite(write_gpkg(grid_cells()), limits.DEFAULT)
    with pytest.raises(sqlite3.OperationalError, match="readonly"):
        con.execute("DELETE FROM grid")
    assert con.execute("PRAGMA trusted_schema").fetchone() == (0,)
