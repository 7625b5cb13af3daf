"""The choropleth, table, trend chart and links of a broadband-coverage
dataset page. The chart is drawn by the snippet
``gelsenkirchen/snippets/broadband_trend.html`` from :func:`trend_chart`'s
coordinates."""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk

from ckanext.gelsenkirchen import dataset_types, page_cache
from ckanext.gelsenkirchen.helpers import resources
from ckanext.gelsenkirchen.helpers.formatting import (
    gelsenkirchen_format_date,
    gelsenkirchen_format_number,
    number,
)

__all__ = ["gelsenkirchen_broadband_page"]

# Broadband indicators: key -> (label, DataStore/GeoJSON column candidates).
BROADBAND_INDICATORS: dict[str, tuple[str, tuple[str, ...]]] = {
    "50": ("Households with at least 50 Mbit/s", (dataset_types.measure("alle", 50),)),
    "1000": ("Households with at least 1 Gbit/s", (dataset_types.measure("alle", 1000),)),
    # FTTH/B at any speed: the lowest speed class present, as the broadband
    # harvester derives households_ftth_share
    "ftthb": ("Households with FTTH/B",
              tuple(dataset_types.measure("ftthb", s) for s in dataset_types.SPEEDS)),
}
# the columns the broadband harvester publishes (dataset_types.BROADBAND_COLUMNS)
_BB_AREA_COLUMNS = (dataset_types.AREA_NAME,)
_BB_DATE_COLUMNS = (dataset_types.REFERENCE_DATE,)
_BB_LEVEL_COLUMNS = (dataset_types.AREA_LEVEL,)
_CITY_LEVELS = {dataset_types.CITY_LEVEL}
# line colour and dash pattern per indicator (told apart without colour too)
_SERIES_STYLE = {"50": ("#1f5f99", ""), "1000": ("#a3324f", "6 3"), "ftthb": ("#2c6e2f", "2 3")}


def _marked_for_translation() -> None:  # pragma: no cover - only read by the extractor
    tk._("Households with at least 50 Mbit/s"), tk._("Households with at least 1 Gbit/s")
    tk._("Households with FTTH/B")


def _bb_columns(columns: list[str], rows: list[dict]) -> dict:
    # a column counts when it has values (the DataStore table of the broadband
    # harvester has a column for every technology and speed class)
    filled = {c for c in columns if any(r.get(c) not in (None, "") for r in rows)}
    indicators = {key: next((c for c in names if c in filled), None)
                  for key, (_label, names) in BROADBAND_INDICATORS.items()}
    return {"area": next((c for c in _BB_AREA_COLUMNS if c in columns), None),
            "date": next((c for c in _BB_DATE_COLUMNS if c in columns), None),
            "level": next((c for c in _BB_LEVEL_COLUMNS if c in columns), None),
            "indicators": {k: v for k, v in indicators.items() if v}}


def gelsenkirchen_broadband_page(pkg: dict, indicator: str = "") -> dict:
    """Latest figures per Stadtteil, trend chart and links of a broadband-coverage
    page (derived once per version of the dataset and indicator: page_cache.py)."""
    indicator = indicator if indicator in BROADBAND_INDICATORS else ""
    return page_cache.for_dataset("broadband-coverage", pkg,
                                  lambda: _broadband_data(pkg, indicator), indicator)


def _broadband_data(pkg: dict, indicator: str) -> dict:
    resource = resources.datastore_resource(pkg)
    out: dict[str, Any] = {"resource": resource, "rows": [], "indicators": [], "indicator": None,
                           "latest": None, "trend": {}, "trend_chart": None,
                           "geojson_url": resources.download_url(pkg, "geojson"),
                           "csv_url": resources.download_url(pkg, "csv"), "api_url": None}
    if not resource:
        return out
    rows, columns, _total = resources.datastore_rows(resource["id"])
    cols = _bb_columns(columns, rows)
    if not cols["area"] or not cols["date"] or not cols["indicators"]:
        return out
    out["api_url"] = resources.api_example(resource["id"], limit=20,
                                           sort=f"{cols['date']} desc")
    out["indicators"] = [(k, tk._(BROADBAND_INDICATORS[k][0]), col)
                         for k, col in cols["indicators"].items()]
    chosen = indicator if indicator in cols["indicators"] else next(iter(cols["indicators"]))
    out.update(indicator=chosen, indicator_column=cols["indicators"][chosen],
               area_column=cols["area"])
    dates = sorted({str(r.get(cols["date"]))[:10] for r in rows if r.get(cols["date"])})
    if not dates:
        return out
    out["latest"] = dates[-1]
    out["rows"] = _latest_rows(rows, cols, dates[-1])
    out["trend"] = _city_series(rows, cols, dates)
    out["trend_chart"] = trend_chart(out["trend"], {k: label for k, label, _c in out["indicators"]})
    return out


def _is_city(row: dict, cols: dict) -> bool:
    return bool(cols["level"]) and str(row.get(cols["level"]) or "").lower() in _CITY_LEVELS


def _latest_rows(rows: list[dict], cols: dict, latest: str) -> list[dict]:
    """The figures of the latest reference date per Stadtteil where the data
    has that level (not Stadtbezirke or grid cells), else per area."""
    of_latest = [r for r in rows
                 if str(r.get(cols["date"]))[:10] == latest and not _is_city(r, cols)]
    latest_rows = [r for r in of_latest
                   if str(r.get(cols["level"]) or "").lower() == dataset_types.STADTTEIL_LEVEL
                   ] or of_latest
    return sorted(({"area": str(r.get(cols["area"]) or ""),
                    **{k: number(r.get(col)) for k, col in cols["indicators"].items()}}
                   for r in latest_rows), key=lambda r: r["area"])


def _city_series(rows: list[dict], cols: dict, dates: list[str]
                 ) -> dict[str, list[tuple[str, float]]]:
    """City-wide share per indicator and date: the city row where one
    exists, else the mean of the areas."""
    series: dict[str, list[tuple[str, float]]] = {k: [] for k in cols["indicators"]}
    for date in dates:
        of_date = [r for r in rows if str(r.get(cols["date"]))[:10] == date]
        city = [r for r in of_date if _is_city(r, cols)] or of_date
        for key, col in cols["indicators"].items():
            values = [v for v in (number(r.get(col)) for r in city) if v is not None]
            if values:
                series[key].append((date, sum(values) / len(values)))
    return series


def trend_chart(series: dict[str, list[tuple[str, float]]],
                labels: dict[str, str]) -> dict[str, Any] | None:
    """Coordinates of a line chart (0-100 %) over the reference dates for the
    snippet broadband_trend.html (which escapes every text); None without data."""
    dates = sorted({d for points in series.values() for d, _v in points})
    if not dates:
        return None
    width, height, left, right, top, bottom = 640, 280, 48, 44, 16, 84
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(date: str) -> float:
        if len(dates) == 1:
            return round(left + plot_w / 2, 1)
        return round(left + plot_w * dates.index(date) / (len(dates) - 1), 1)

    def y(value: float) -> float:
        return round(top + plot_h * (1 - max(0.0, min(100.0, value)) / 100), 1)

    lines = []
    legend_y = top + plot_h + 40
    for key, points in series.items():
        if not points:
            continue
        colour, dash = _SERIES_STYLE.get(key, ("#1a1a1a", ""))
        label = labels.get(key, key)
        lines.append({
            "label": label, "colour": colour, "dash": dash, "legend_y": legend_y,
            "points": " ".join(f"{x(d)},{y(v)}" for d, v in points),
            "dots": [{"x": x(d), "y": y(v),
                      "title": f"{label}: {gelsenkirchen_format_date(d)}, "
                               f"{gelsenkirchen_format_number(v, 1)} %"} for d, v in points]})
        legend_y += 16
    return {"width": width, "height": height, "left": left, "right": width - right,
            "date_y": top + plot_h + 18,
            "ticks": [{"value": t, "y": y(t), "label_y": round(y(t) + 4, 1)}
                      for t in (0, 25, 50, 75, 100)],
            "dates": [{"x": x(d), "label": gelsenkirchen_format_date(d)} for d in dates],
            "lines": lines}
