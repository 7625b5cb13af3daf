"""Benchmark of the WiFi hotspot harvester (``make bench-harvest``).

    python -m bench.harvest_wifi [--ini test.ini] [--rows 10000]

Generates a city CSV of ``--rows`` hotspots (``;``, decimal comma,
Windows-1252, EPSG:25832) and a GeoJSON FeatureCollection of as many
features, serves both over real HTTP on 127.0.0.1 and runs, for each, a
first harvest and an unchanged re-harvest through ckanext-harvest (gather ->
fetch -> import) against the databases of ``--ini`` (the test databases by
default; the run takes the test-session lock, so it waits for a running test
session). Prints wall times, rows/s, peak memory (RSS high-water mark of this
process, CKAN included) and where the time goes.
"""
from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time

from bench.support import (
    ROOT,
    print_peak,
    print_runs,
    serve_and_harvest,
)

AREAS = [("Altstadt", (7.07, 51.50, 7.11, 51.52)), ("Buer", (7.03, 51.58, 7.11, 51.61)),
         ("Horst", (6.98, 51.54, 7.03, 51.57)), ("Erle", (7.07, 51.56, 7.11, 51.58))]


def make_csv(rows: int, seed: int = 1) -> bytes:
    from pyproj import Transformer

    rnd = random.Random(seed)
    to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)
    lines = ["ID;Name;Art;Traeger;PLZ;Ort;Strasse;Bezirk;Stadtteil;X;Y;SSID;Anzahl_AP;"
             "Anbindung;Status;Oeffnungszeiten"]
    for i in range(rows):
        area, (w, s, e, n) = AREAS[i % len(AREAS)]
        x, y = to_utm.transform(rnd.uniform(w, e), rnd.uniform(s, n))
        lines.append(";".join([
            f"GE-{i:05d}", f"Hotspot Straße {i}", rnd.choice(["Außenbereich", "Innenbereich"]),
            "Stadt Gelsenkirchen", "45879", "Gelsenkirchen", f"Überweg {i % 300}", "",
            area if i % 3 else "", f"{x:.2f}".replace(".", ","), f"{y:.2f}".replace(".", ","),
            "Free WiFi Gelsenkirchen", str(rnd.randint(1, 8)),
            rnd.choice(["Glasfaser", "VDSL", "Richtfunk"]), rnd.choice(["in Betrieb", "geplant"]),
            "durchgehend"]))
    return ("\r\n".join(lines) + "\r\n").encode("cp1252")


def make_geojson(rows: int, seed: int = 2) -> bytes:
    rnd = random.Random(seed)
    features = []
    for i in range(rows):
        _, (w, s, e, n) = AREAS[i % len(AREAS)]
        features.append({"type": "Feature", "id": f"f{i:05d}", "geometry": {
            "type": "Point", "coordinates": [round(rnd.uniform(w, e), 6),
                                             round(rnd.uniform(s, n), 6)]},
            "properties": {"name": f"Hotspot {i}", "betreiber": "Stadtwerke", "ssid": "GE-Free",
                           "access_points": rnd.randint(1, 4), "anbindung": "Glasfaser",
                           "status": "online", "lage": "außen"}})
    return json.dumps({"type": "FeatureCollection", "features": features},
                      ensure_ascii=False, separators=(",", ":")).encode("utf-8")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--ini", default=os.path.join(ROOT, "test.ini"))
    parser.add_argument("--rows", type=int, default=10000)
    opts = parser.parse_args(argv)
    start = time.perf_counter()
    files = {"csv": ("hotspots.csv", make_csv(opts.rows)),
             "geojson": ("hotspots.geojson", make_geojson(opts.rows))}
    print(f"generated {opts.rows} hotspots as CSV ({len(files['csv'][1]) / 1e6:.1f} MB) and "
          f"GeoJSON ({len(files['geojson'][1]) / 1e6:.1f} MB) in "
          f"{time.perf_counter() - start:.1f} s; {os.cpu_count()} CPU(s)")
    results = serve_and_harvest(opts.ini, files, "gelsenkirchen_wifi", name_prefix="bench-wifi",
                                title_prefix="Bench WLAN", clear_sources=True)
    for kind, runs in results.items():
        print_runs(kind, opts.rows, "rows", runs)
    print_peak()
    return 0


if __name__ == "__main__":
    sys.exit(main())
