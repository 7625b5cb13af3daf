"""Helpers for the WiFi harvester tests: sample sources and a harvest runner.

Remote sources are mocked at the HTTP transport level with ``responses``;
everything else (PostgreSQL, DataStore, Redis, pgsolr) is real. The
harvest machinery is shared with the broadband tests (:mod:`.support`).
"""
from __future__ import annotations

from typing import Any

import responses
from pyproj import Transformer

from .. import support
from ..support import dataset_of, field

__all__ = ["FEEDS", "HEADER", "city_csv", "city_row", "collection", "create_source",
           "dataset_of", "feature", "field", "hotspots", "mock", "rows_of", "run", "utm"]

FEEDS = "https://daten.example.org"
HEADER = "ID;Name;Art;Traeger;PLZ;Ort;Strasse;Bezirk;Stadtteil;X;Y;SSID;Anzahl_AP;Anbindung;Status"
_to_utm = Transformer.from_crs("EPSG:4326", "EPSG:25832", always_xy=True)


def utm(lon: float, lat: float) -> tuple[str, str]:
    x, y = _to_utm.transform(lon, lat)
    return f"{x:.2f}".replace(".", ","), f"{y:.2f}".replace(".", ",")


def city_row(ident: str, name: str, lon: float = 7.095, lat: float = 51.51, *,
             stadtteil: str = "Altstadt", aps: str = "2", backhaul: str = "Glasfaser",
             status: str = "in Betrieb", x: str | None = None, y: str | None = None) -> str:
    ux, uy = utm(lon, lat)
    return ";".join([ident, name, "Außenbereich", "Stadt Gelsenkirchen", "45879", "Gelsenkirchen",
                     "Ahstraße 1", "", stadtteil, ux if x is None else x, uy if y is None else y,
                     "Free WiFi Gelsenkirchen", aps, backhaul, status])


def city_csv(rows: list[str], encoding: str = "utf-8", header: str = HEADER) -> bytes:
    return ("\r\n".join([header, *rows]) + "\r\n").encode(encoding)


def hotspots(n: int, start: int = 1) -> list[str]:
    """n valid rows spread over Altstadt (odd) and Buer (even)."""
    out = []
    for i in range(start, start + n):
        if i % 2:
            out.append(city_row(f"GE-{i:03d}", f"Hotspot Altstadt {i}", 7.075 + (i % 10) * 0.003,
                                51.503 + (i % 7) * 0.002, stadtteil="Altstadt"))
        else:
            out.append(city_row(f"GE-{i:03d}", f"Hotspot Buer {i}", 7.045 + (i % 10) * 0.005,
                                51.585 + (i % 7) * 0.003, stadtteil="Buer", backhaul="VDSL"))
    return out


def feature(ident: Any, lon: Any, lat: Any, **props: Any) -> dict[str, Any]:
    geometry = None if lon is None else {"type": "Point", "coordinates": [lon, lat]}
    return {"type": "Feature", "id": ident, "geometry": geometry,
            "properties": {"name": f"Hotspot {ident}", "betreiber": "Stadtwerke", **props}}


def collection(features: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return {"type": "FeatureCollection", "features": features, **extra}


def create_source(url: str, config: dict[str, Any] | None = None, **kwargs: Any) -> dict[str, Any]:
    return support.create_source("gelsenkirchen_wifi", url, config,
                                 name=kwargs.pop("name", "wlan-quelle"),
                                 title=kwargs.pop("title", "WLAN-Hotspots Test"), **kwargs)


def run(source: dict[str, Any]) -> dict[str, Any]:
    """One WiFi harvest job gather -> fetch -> import."""
    return support.run_job(source, "gelsenkirchen_wifi")


def rows_of(dataset: dict[str, Any]) -> list[dict[str, Any]]:
    return support.rows_of(dataset, "id")


def mock(rsps: responses.RequestsMock, url: str, body: bytes | str | dict | list, *,
         status: int = 200, content_type: str | None = None, headers: dict | None = None) -> None:
    """As :func:`support.mock`, bodies other than JSON sent as ``text/csv``."""
    support.mock(rsps, url, body, status=status, content_type=content_type,
                 default_type="text/csv", headers=headers or {})
