"""Sample content of the browser tests and of `make bench-pages`: an
organization, plain datasets, two wifi-hotspots datasets (one whose names
and description carry markup and script) and a broadband-coverage dataset
with two reference dates, created through the action API as a harvester
would publish them (package_create with the schemas' fields,
datastore_create, GeoJSON uploads)."""
from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

# Harvested-looking text with markup and script: must show as text only.
EVIL = '<img src=x onerror="window.__xss=1;alert(1)"><script>window.__xss=2;alert(2)</script>'

HOTSPOTS = [
    {"id": "gk-1", "name": "Hans-Sachs-Haus", "address": "Ebertstraße 11", "postcode": "45879",
     "stadtteil": "Altstadt", "stadtbezirk": "Mitte", "latitude": 51.5079, "longitude": 7.0960,
     "operator": "Stadt Gelsenkirchen", "ssid": "GE-WLAN", "access_points": 4, "status": "aktiv"},
    {"id": "gk-2", "name": "Schloss Horst", "address": "Turfstraße 21", "postcode": "45899",
     "stadtteil": "Horst", "stadtbezirk": "West", "latitude": 51.5323, "longitude": 7.0332,
     "operator": "Freifunk Gelsenkirchen", "ssid": "Freifunk", "access_points": 2, "status": "aktiv"},
    {"id": "gk-3", "name": "Rathaus Buer", "address": "Goldbergstraße 12", "postcode": "45894",
     "stadtteil": "Buer", "stadtbezirk": "Nord", "latitude": 51.5770, "longitude": 7.0530,
     "operator": "Stadt Gelsenkirchen", "ssid": "GE-WLAN", "access_points": 3, "status": "gestört"},
    {"id": "gk-4", "name": "Veltins-Arena", "address": "Arena-Ring 1", "postcode": "45891",
     "stadtteil": "Erle", "stadtbezirk": "Ost", "latitude": 51.5546, "longitude": 7.0676,
     "operator": "Freifunk Gelsenkirchen", "ssid": "Freifunk", "access_points": 6, "status": "aktiv"},
]
EVIL_HOTSPOTS = [
    {"id": "evil-1", "name": EVIL, "address": EVIL, "postcode": "45881",
     "stadtteil": "Schalke", "stadtbezirk": "Mitte", "latitude": 51.5360, "longitude": 7.0680,
     "operator": EVIL, "ssid": "evil", "access_points": 1, "status": EVIL},
]
HOTSPOT_FIELDS = [{"id": k, "type": t} for k, t in (
    ("id", "text"), ("name", "text"), ("address", "text"), ("postcode", "text"),
    ("stadtteil", "text"), ("stadtbezirk", "text"), ("latitude", "float8"),
    ("longitude", "float8"), ("operator", "text"), ("ssid", "text"),
    ("access_points", "int"), ("status", "text"))]

AREAS = {"Altstadt": (7.08, 51.50), "Buer": (7.04, 51.57), "Horst": (7.02, 51.53)}
BROADBAND_ROWS = [
    {"area_name": area, "area_level": "stadtteil", "reference_date": date,
     "down_fn_hh_alle_50": v50, "down_fn_hh_alle_1000": v1000, "down_fn_hh_ftthb_1000": vf}
    for date, factor in (("2025-06-30", 0.8), ("2025-12-31", 1.0))
    for area, (v50, v1000, vf) in zip(AREAS, ((97.5, 61.0, 40.0), (92.0, 48.5, 33.0),
                                             (88.0, 35.0, 20.0)), strict=True)
    for v50, v1000, vf in [(min(100, v50 * (0.95 + 0.05 * factor)), v1000 * factor, vf * factor)]
] + [{"area_name": "Gelsenkirchen", "area_level": "stadt", "reference_date": "2025-12-31",
      "down_fn_hh_alle_50": 93.1, "down_fn_hh_alle_1000": 50.2, "down_fn_hh_ftthb_1000": 31.0}]
BROADBAND_FIELDS = [{"id": "area_name", "type": "text"}, {"id": "area_level", "type": "text"},
                    {"id": "reference_date", "type": "date"},
                    {"id": "down_fn_hh_alle_50", "type": "float8"},
                    {"id": "down_fn_hh_alle_1000", "type": "float8"},
                    {"id": "down_fn_hh_ftthb_1000", "type": "float8"}]


def _square(lon: float, lat: float, d: float = 0.015) -> list:
    return [[[lon - d, lat - d], [lon + d, lat - d], [lon + d, lat + d], [lon - d, lat + d],
             [lon - d, lat - d]]]




def seed(act: Callable[..., dict], extra_datasets: int = 0) -> dict[str, Any]:
    """Create the sample content with ``act(action_name, files=None, **data)``."""
    org = act("organization_create", name="stadt-gelsenkirchen", title="Stadt Gelsenkirchen",
              description="Die Vernetzte Stadt: offene Daten der Stadt Gelsenkirchen.")
    common = {"owner_org": org["id"], "contact_name": "Referat Digitalisierung",
              "contact_email": "opendata@gelsenkirchen.example", "license_id": "dl-zero-de/2.0"}
    datasets = []
    for i, (title, tags, theme) in enumerate((
            ("Haushaltsplan 2026", ["Finanzen", "Haushalt"], "ECON"),
            ("Schulstandorte", ["Bildung", "Schulen"], "EDUC"))):
        datasets.append(act("package_create", name=f"gk-dataset-{i}", title=title,
                            notes="Offene Daten der Stadt Gelsenkirchen.", theme=[theme],
                            tags=[{"name": t} for t in tags], **common))
    # a harvested dataset whose names and description carry markup and script
    evil = act("package_create", type="wifi-hotspots", name="gk-wifi-markup",
               title="WLAN " + EVIL, notes="Beschreibung " + EVIL, theme=["TECH"],
               hotspot_count=len(EVIL_HOTSPOTS), **common)
    act("datastore_create", resource={"package_id": evil["id"], "name": EVIL, "format": "CSV"},
        fields=HOTSPOT_FIELDS, records=EVIL_HOTSPOTS, primary_key=["id"])
    wifi = act("package_create", type="wifi-hotspots", name="gk-wifi-hotspots",
               title="Öffentliche WLAN-Hotspots", theme=["TECH"],
               notes="Öffentliche WLAN-Hotspots der Stadt und von Freifunk.",
               hotspot_count=len(HOTSPOTS), **common)
    ds = act("datastore_create", resource={"package_id": wifi["id"], "name": "Hotspots",
                                           "format": "CSV"},
             fields=HOTSPOT_FIELDS, records=HOTSPOTS, primary_key=["id"])
    geojson = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {k: v for k, v in h.items()},
         "geometry": {"type": "Point", "coordinates": [h["longitude"], h["latitude"]]}}
        for h in HOTSPOTS]}
    act("resource_create", package_id=wifi["id"], name="Hotspots (GeoJSON)", format="GeoJSON",
        url="hotspots.geojson", files={"upload": ("hotspots.geojson", json.dumps(geojson))})
    broadband = act("package_create", type="broadband-coverage", name="gk-breitband",
                    title="Breitbandversorgung Gelsenkirchen", theme=["TECH"],
                    notes="Breitband- und Glasfaserversorgung je Stadtteil.",
                    reference_date="2025-12-31", households_50mbit_share=93.1,
                    households_1gbit_share=50.2, schools_connected=86, schools_total=88,
                    **common)
    bb = act("datastore_create", resource={"package_id": broadband["id"], "name": "Versorgung",
                                           "format": "CSV"},
             fields=BROADBAND_FIELDS, records=BROADBAND_ROWS)
    latest = [r for r in BROADBAND_ROWS
              if r["reference_date"] == "2025-12-31" and r["area_level"] != "stadt"]
    shapes = {"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": r, "geometry": {"type": "Polygon",
                                                         "coordinates": _square(*AREAS[str(r["area_name"])])}}
        for r in latest]}
    act("resource_create", package_id=broadband["id"], name="Stadtteile (GeoJSON)",
        format="GeoJSON", url="stadtteile.geojson",
        files={"upload": ("stadtteile.geojson", json.dumps(shapes))})
    for i in range(extra_datasets):
        act("package_create", name=f"gk-extra-{i}", title=f"Beispieldatensatz {i}",
            notes="Weitere offene Daten der Stadt Gelsenkirchen.",
            theme=[("ECON", "EDUC", "TECH")[i % 3]],
            tags=[{"name": ("Verkehr", "Umwelt", "Bildung", "Finanzen")[i % 4]}], **common)
    return {"org": org, "datasets": datasets, "evil": evil,
            "wifi": act("package_show", id=wifi["id"]), "wifi_resource": ds["resource_id"],
            "broadband": act("package_show", id=broadband["id"]),
            "broadband_resource": bb["resource_id"]}

