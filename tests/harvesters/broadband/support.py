"""Sample broadband data for the unit and harvest tests: GeoJSON features,
GeoPackages written with sqlite3 and a hand-made GeoPackage binary header
(independent of the reader), boundaries, grid cells, records."""
from __future__ import annotations

import sqlite3
import struct

import shapely
from pyproj import Transformer

from ckanext.gelsenkirchen import geography
from ckanext.gelsenkirchen.harvesters.broadband import options, scheme

TO_UTM = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)


def square(lon: float, lat: float, size: float = 0.005) -> dict:
    return {"type": "Polygon", "coordinates": [[
        [lon, lat], [lon + size, lat], [lon + size, lat + size], [lon, lat + size], [lon, lat]]]}


def feature(props: dict, geometry: dict | None = None) -> dict:
    return {"type": "Feature", "properties": props, "geometry": geometry}


def collection(*features: dict, **extra) -> dict:
    return {"type": "FeatureCollection", "features": list(features), **extra}


def gpkg_blob(geom, srs_id: int = 25832, envelope: bool = True, big_endian: bool = False,
              empty: bool = False) -> bytes:
    """A GeoPackage binary geometry: 'GP', version 0, flags, srs_id,
    envelope (minx, maxx, miny, maxy), then WKB (GeoPackage spec 2.1.3)."""
    order = ">" if big_endian else "<"
    flags = (0 if big_endian else 1) | (0b010 if envelope else 0) | (0b1_0000 if empty else 0)
    header = b"GP" + bytes([0, flags]) + struct.pack(order + "i", srs_id)
    if envelope:
        minx, miny, maxx, maxy = geom.bounds
        header += struct.pack(order + "4d", minx, maxx, miny, maxy)
    return header + shapely.to_wkb(geom, byte_order=0 if big_endian else 1)


# The boundaries file's rule (geography.py): the property "code" names the area.
BOUNDARIES = collection(
    feature({"code": "bezirk-mitte"}, square(7.0, 51.5, 0.1)),
    feature({"code": "stadtteil-altstadt"}, square(7.0, 51.5, 0.05)),
    feature({"code": "stadtteil-buer", "name": "ignored"}, square(7.05, 51.5, 0.05)),
    feature({"code": "st-x", "name": "not an area of the city"}, square(7.0, 51.5, 0.05)),
)


def stadtteile() -> list:
    return geography.Boundaries.from_geojson(BOUNDARIES).of_level("stadtteil")


def utm_cell(lon: float, lat: float, size: float = 100.0) -> shapely.Polygon:
    """A 100 m grid cell (EPSG:25832) whose centroid is at lon/lat."""
    x, y = TO_UTM.transform(lon, lat)
    return shapely.box(x - size / 2, y - size / 2, x + size / 2, y + size / 2)


def write_gpkg(cells: list[dict], *, srs_id: int = 25832, table: str = "grid",
               extra_layers: tuple[str, ...] = (), columns: list[str] | None = None,
               drop_tables: tuple[str, ...] = ()) -> bytes:
    """A GeoPackage with one feature table of grid cells; each cell dict has
    'geom' (shapely, in the layer's CRS) and attribute values."""
    con = sqlite3.connect(":memory:")
    con.execute("PRAGMA application_id = 1196444487")  # 'GPKG'
    con.execute("""CREATE TABLE gpkg_spatial_ref_sys (srs_name TEXT NOT NULL,
        srs_id INTEGER PRIMARY KEY, organization TEXT NOT NULL,
        organization_coordsys_id INTEGER NOT NULL, definition TEXT NOT NULL, description TEXT)""")
    con.executemany("INSERT INTO gpkg_spatial_ref_sys VALUES (?, ?, ?, ?, ?, ?)", [
        ("Undefined cartesian SRS", -1, "NONE", -1, "undefined", None),
        ("WGS 84", 4326, "EPSG", 4326, "GEOGCS[...]", None),
        ("ETRS89 / UTM zone 32N", 25832, "EPSG", 25832, "PROJCS[...]", None)])
    con.execute("""CREATE TABLE gpkg_contents (table_name TEXT PRIMARY KEY, data_type TEXT NOT NULL,
        identifier TEXT, description TEXT DEFAULT '', last_change DATETIME, min_x DOUBLE,
        min_y DOUBLE, max_x DOUBLE, max_y DOUBLE, srs_id INTEGER)""")
    con.execute("""CREATE TABLE gpkg_geometry_columns (table_name TEXT, column_name TEXT,
        geometry_type_name TEXT, srs_id INTEGER, z TINYINT, m TINYINT)""")
    if columns is None:
        columns = sorted({k for c in cells for k in c if k != "geom"})
    for name in (table, *extra_layers):
        cols = ", ".join(f'"{c}"' for c in columns)
        con.execute(f'CREATE TABLE "{name}" (fid INTEGER PRIMARY KEY, geom BLOB'
                    + (f", {cols})" if columns else ")"))
        con.execute("INSERT INTO gpkg_contents (table_name, data_type, identifier, srs_id) "
                    "VALUES (?, 'features', ?, ?)", (name, name, srs_id))
        con.execute("INSERT INTO gpkg_geometry_columns VALUES (?, 'geom', 'POLYGON', ?, 0, 0)",
                    (name, srs_id))
    placeholders = ", ".join("?" for _ in range(len(columns) + 1))
    con.executemany(
        f'INSERT INTO "{table}" (geom{"".join(", " + chr(34) + c + chr(34) for c in columns)}) '
        f"VALUES ({placeholders})",
        [(c["geom"] if isinstance(c["geom"], bytes | None) else gpkg_blob(c["geom"], srs_id),
          *[c.get(k) for k in columns]) for c in cells])
    for name in drop_tables:
        con.execute(f'DROP TABLE "{name}"')
    con.commit()
    data = con.serialize()
    con.close()
    return data


def opts(**config) -> options.BroadbandOptions:
    return options.parse_options(config)


def grid_cells() -> list[dict]:
    """Altstadt: 10 hh at 100 %, 30 hh at 50 %; Buer: 60 hh at 20 %;
    one cell of a neighbouring municipality."""
    base = {"ags": "05513000", "stichtag": "2025-06"}
    return [
        {**base, "geom": utm_cell(7.01, 51.51), "households": 10,
         "down_fn_hh_alle_50": 100.0, "down_fn_hh_alle_1000": 90.0, "schulen_glasfaser": 1},
        {**base, "geom": utm_cell(7.02, 51.52), "households": 30,
         "down_fn_hh_alle_50": 50.0, "down_fn_hh_alle_1000": 10.0},
        {**base, "geom": utm_cell(7.07, 51.51), "households": 60,
         "down_fn_hh_alle_50": 20.0, "down_fn_hh_alle_1000": 0.0, "schulen_glasfaser": 2},
        {**base, "ags": "05562000", "geom": utm_cell(7.08, 51.52), "households": 999,
         "down_fn_hh_alle_50": 0.0, "down_fn_hh_alle_1000": 0.0},
    ]


def record(area_id, households, pct50, pct1000=None, date="2025-06-30", level="stadtteil", **counts):
    measures = {"down_fn_hh_alle_50": pct50}
    if pct1000 is not None:
        measures["down_fn_hh_alle_1000"] = pct1000
    return scheme.AreaRecord(area_id=area_id, reference_date=date, area_level=level,
                         households=households, measures=measures, counts=counts)
