"""Benchmark of the broadband harvester (``make bench-broadband``).

    python -m bench.harvest_broadband [--ini test.ini]
        [--cells 10500] [--features 10000]

Generates

* a GeoPackage with a 100 m grid (EPSG:25832) over the city's extent: about
  10,500 cells with households and all 56 ``down_fn_hh_*`` attributes (grid
  cells exist where households live, so cells are sampled from the extent
  of the boundaries file), plus a fringe of cells of neighbouring
  municipalities;
* a GeoJSON FeatureCollection of 10,000 area polygons with the same
  attributes;

serves them over real HTTP on 127.0.0.1 and runs, for each, a first harvest
and an unchanged re-harvest through ckanext-harvest (gather -> fetch ->
import) against the databases of ``--ini`` (the test databases by default;
the run takes the test-session lock). Prints wall times, cells/s, peak
memory (RSS high-water mark of this process) and where the time goes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sqlite3
import struct
import sys
import time
from typing import Any

import numpy as np
import shapely
from pyproj import Transformer

from bench.support import (
    ROOT,
    print_peak,
    print_runs,
    serve_and_harvest,
)
from ckanext.gelsenkirchen import dataset_types, geography
from ckanext.gelsenkirchen.harvesters.broadband import (
    aggregation,
    exports,
    geopackage,
    options,
    readers,
)


def _measures(rnd: random.Random) -> dict[str, float]:
    """Plausible, consistent percentages for every technology and speed."""
    out = {}
    for tech in dataset_types.TECHNOLOGIES:
        value = 100.0 if tech == "alle" else rnd.uniform(0, 100)
        for speed in dataset_types.SPEEDS:
            value = round(max(0.0, value - rnd.uniform(0, 6)), 1)
            out[f"{dataset_types.MEASURE_PREFIX}{tech}_{speed}"] = value
    return out


def make_gpkg_geometry(wkb: bytes, srs_id: int, envelope: tuple | None = None) -> bytes:
    """Encode WKB as a GeoPackage binary geometry (little endian header,
    optional xy envelope)."""
    flags = 0b0000_0001  # little endian
    env = b""
    if envelope is not None:
        flags |= 0b0000_0010
        env = struct.pack("<4d", *envelope)
    return b"GP" + bytes([0, flags]) + struct.pack("<i", srs_id) + env + wkb


APPROXIMATE = "ckanext.gelsenkirchen:data/boundaries-approximate.geojson"


def _stadtteile_union() -> Any:
    stadtteile = geography.load_boundaries(APPROXIMATE).of_level("stadtteil")
    return shapely.union_all([b.geometry for b in stadtteile])


def make_geopackage(cells: int = 10500, seed: int = 6) -> tuple[bytes, int]:
    """A GeoPackage grid layer; returns (bytes, number of cells)."""
    rnd = random.Random(seed)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    city = shapely.transform(_stadtteile_union(), lambda xy: np.column_stack(
        to_utm.transform(xy[:, 0], xy[:, 1])))
    minx, miny, maxx, maxy = (int(v // 100 * 100) for v in city.bounds)
    grid_x, grid_y = np.meshgrid(np.arange(minx, maxx + 500, 100), np.arange(miny, maxy + 500, 100))
    xs, ys = grid_x.ravel(), grid_y.ravel()
    inside = shapely.contains_xy(city, xs + 50, ys + 50)
    city_idx = np.nonzero(inside)[0]
    fringe_idx = np.nonzero(~inside)[0]
    keep = sorted(rnd.sample(list(city_idx), min(cells, len(city_idx))))
    fringe = sorted(rnd.sample(list(fringe_idx), min(len(fringe_idx), cells // 30)))
    con = sqlite3.connect(":memory:")
    con.executescript("""
        PRAGMA application_id = 1196444487;
        CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT, srs_id INTEGER PRIMARY KEY,
            organization TEXT, organization_coordsys_id INTEGER, definition TEXT,
            description TEXT);
        INSERT INTO gpkg_spatial_ref_sys VALUES ('ETRS89 / UTM zone 32N', 25832, 'EPSG', 25832,
            'undefined', NULL);
        CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT,
            identifier TEXT, description TEXT, last_change TEXT, min_x REAL, min_y REAL,
            max_x REAL, max_y REAL, srs_id INTEGER);
        CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT,
            geometry_type_name TEXT, srs_id INTEGER, z INTEGER, m INTEGER);
    """)
    columns = ["ags", "stichtag", "households", *dataset_types.MEASURES, "schulen_glasfaser",
               "schulen_ohne_glasfaser"]
    con.execute("CREATE TABLE raster_100m (fid INTEGER PRIMARY KEY, geom BLOB, "
                + ", ".join(f'"{c}"' for c in columns) + ")")
    con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                "VALUES ('raster_100m', 'features', 'raster_100m', 25832)")
    con.execute("INSERT INTO gpkg_geometry_columns VALUES "
                "('raster_100m', 'geom', 'POLYGON', 25832, 0, 0)")
    rows = []
    for index in [*keep, *fringe]:
        x, y = float(xs[index]), float(ys[index])
        cell = shapely.box(x, y, x + 100, y + 100)
        blob = make_gpkg_geometry(shapely.to_wkb(cell), 25832, (x, x + 100, y, y + 100))
        measures = _measures(rnd)
        rows.append((blob, "05513000" if inside[index] else "05562004", "2025-12",
                     rnd.randint(0, 60), *[measures[m] for m in dataset_types.MEASURES],
                     int(rnd.random() < 0.004), int(rnd.random() < 0.001)))
    con.executemany(f"INSERT INTO raster_100m (geom, {', '.join(chr(34) + c + chr(34) for c in columns)}) "  # noqa: S608
                    f"VALUES ({', '.join('?' for _ in range(len(columns) + 1))})", rows)
    con.commit()
    data = con.serialize()
    con.close()
    return data, len(rows)


def make_geojson(features: int = 10000, seed: int = 7) -> bytes:
    """A FeatureCollection of ``features`` small area polygons."""
    rnd = random.Random(seed)
    side = int(np.ceil(np.sqrt(features)))
    out = []
    for i in range(features):
        lon = 6.99 + (i % side) * 0.0015
        lat = 51.48 + (i // side) * 0.0015
        ring = [[lon, lat], [lon + 0.0014, lat], [lon + 0.0014, lat + 0.0014],
                [lon, lat + 0.0014], [lon, lat]]
        props = {"area_id": f"gebiet-{i:05d}", "name": f"Gebiet {i}", "stichtag": "2025-12",
                 "households": rnd.randint(10, 400), **_measures(rnd)}
        out.append({"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                    "properties": props})
    return json.dumps({"type": "FeatureCollection", "features": out},
                      separators=(",", ":")).encode("utf-8")


def pure_breakdown(gpkg: bytes, geojson: bytes) -> dict[str, float]:
    """Where the parse time goes, measured on the pure functions alone."""
    opts = options.parse_options({})
    times: dict[str, float] = {}
    start = time.perf_counter()
    grid, parsed = geopackage.read_geopackage(gpkg, opts)
    times["gpkg: read + validate cells"] = time.perf_counter() - start
    start = time.perf_counter()
    boundaries = geography.load_boundaries(APPROXIMATE).of_level("stadtteil")
    result = aggregation.aggregate_grid(grid, parsed, boundaries, opts)
    times["gpkg: aggregate to Stadtteile + city"] = time.perf_counter() - start
    start = time.perf_counter()
    result = readers.read_geojson(geojson, opts)
    times["geojson: read + validate features"] = time.perf_counter() - start
    start = time.perf_counter()
    exports.geometries_json({r.area_id: r.geometry for r in result.records})
    times["geojson: geometries for the map file"] = time.perf_counter() - start
    return times


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ini", default=os.path.join(ROOT, "test.ini"))
    parser.add_argument("--cells", type=int, default=10500)
    parser.add_argument("--features", type=int, default=10000)
    opts = parser.parse_args(argv)

    start = time.perf_counter()
    gpkg, cells = make_geopackage(opts.cells)
    geojson = make_geojson(opts.features)
    print(f"generated: GeoPackage {cells} cells ({len(gpkg) / 1e6:.1f} MB), GeoJSON "
          f"{opts.features} features ({len(geojson) / 1e6:.1f} MB) in "
          f"{time.perf_counter() - start:.1f} s; {os.cpu_count()} CPU(s)")
    breakdown = pure_breakdown(gpkg, geojson)
    results = serve_and_harvest(
        opts.ini, {"gpkg": ("raster.gpkg", gpkg), "geojson": ("gebiete.geojson", geojson)},
        "gelsenkirchen_broadband", name_prefix="bench", title_prefix="Bench")
    print("\nwhere the parse time goes (pure functions, same data):")
    for step, seconds in breakdown.items():
        print(f"  {step:42s} {seconds:6.2f} s")
    for kind, runs in results.items():
        if kind == "gpkg":
            print_runs(kind, cells, "cells", runs)
        else:
            print_runs(kind, opts.features, "features", runs)
    print_peak()
    return 0


if __name__ == "__main__":
    sys.exit(main())
