"""Template helpers of the portal theme (re-exported by ``helpers.py``).

Home-page key figures, the data of the wifi-hotspots and broadband-coverage
dataset pages, map settings, legal-page links, locale-aware formatting.
Every helper is listed in ``__all__`` and starts with ``gelsenkirchen_``.
"""
from __future__ import annotations

import datetime
import logging
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

import ckan.plugins.toolkit as tk
from flask import has_request_context, request
from markupsafe import Markup, escape

from ckanext.gelsenkirchen import compat, dataset_types, page_cache
from ckanext.gelsenkirchen.harvesters.source.numbers import parse_number

log = logging.getLogger(__name__)

__all__ = [
    "gelsenkirchen_key_figures",
    "gelsenkirchen_home_search",
    "gelsenkirchen_format_date",
    "gelsenkirchen_format_number",
    "gelsenkirchen_legal_pages",
    "gelsenkirchen_map_config",
    "gelsenkirchen_wifi_page",
    "gelsenkirchen_broadband_page",
    "gelsenkirchen_dataset_view",
    "gelsenkirchen_type_registered",
    "gelsenkirchen_theme_label",
]

WIFI_TYPE = dataset_types.WIFI
BROADBAND_TYPE = dataset_types.BROADBAND

# Derived dataset fields written by the harvesters (schemas/wifi_hotspots.yaml,
# schemas/broadband_coverage.yaml). The first name present wins.
_WIFI_COUNT_FIELDS = ("hotspot_count",)
_WIFI_DATE_FIELDS = ("provenance_harvested_at", "metadata_modified")
_BB_DATE_FIELDS = ("reference_date",)
_BB_SHARE_1000_FIELDS = ("households_1gbit_share",)
_BB_SHARE_50_FIELDS = ("households_50mbit_share",)
_BB_SCHOOLS_FIBRE_FIELDS = ("schools_connected",)
_BB_SCHOOLS_TOTAL_FIELDS = ("schools_total",)
# search facet of the themes (schemas: vocab_gk_theme)
_THEME_FACET = "vocab_gk_theme"

# DataStore columns of the hotspot table (wifi harvester), in table order.
# The labels are translated at render time; the literals are here so the
# message extractor finds them: tk._("Name") ...
WIFI_COLUMNS: tuple[tuple[str, str], ...] = (
    ("name", "Name"),
    ("address", "Address"),
    ("postcode", "Postcode"),
    ("stadtteil", "District"),
    ("operator", "Operator"),
    ("ssid", "SSID"),
    ("access_points", "Access points"),
    ("status", "Status"),
)


def _marked_for_translation() -> None:  # pragma: no cover - only read by the extractor
    tk._("Name"), tk._("Address"), tk._("Postcode"), tk._("District"), tk._("Operator")
    tk._("SSID"), tk._("Access points"), tk._("Status")
    tk._("Households with at least 50 Mbit/s"), tk._("Households with at least 1 Gbit/s")
    tk._("Households with FTTH/B")


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

def _cached(key: Any, compute: Callable[[], Any]) -> Any:
    # once per version of the public datasets, at most home.cache_seconds (page_cache.py)
    seconds = tk.asint(tk.config.get("ckanext.gelsenkirchen.home.cache_seconds", 300))
    return page_cache.for_portal(key, compute, seconds)


def _first(data: dict, names: tuple[str, ...]) -> Any:
    for name in names:
        value = data.get(name)
        if value not in (None, ""):
            return value
    return None


def _number(value: Any) -> float | None:
    try:
        return parse_number(value)
    except ValueError:
        return None


def _search(**data_dict: Any) -> dict:
    try:
        return tk.get_action("package_search")({}, data_dict)
    except Exception:  # search down: the page still renders without the block
        log.warning("package_search for the home page failed", exc_info=True)
        return {"results": [], "count": 0, "search_facets": {}}


def _latest_of_type(dataset_type: str) -> dict | None:
    result = _search(fq=f'+dataset_type:"{dataset_type}"', rows=1,
                     sort="metadata_modified desc", include_private=False)
    return result["results"][0] if result["results"] else None


def _compute_key_figures() -> list[dict]:
    figures: list[dict] = []
    # Hotspots are counted over every public hotspot collection (city, Freifunk,
    # ...): the figure links to the one dataset, or to the list when several.
    wifi_sets = [d for d in _search(fq=f'+dataset_type:"{WIFI_TYPE}"', rows=1000,
                                    sort="metadata_modified desc",
                                    include_private=False)["results"]
                 if _number(_first(d, _WIFI_COUNT_FIELDS)) is not None]
    if wifi_sets:
        dates = [str(d) for d in (_first(w, _WIFI_DATE_FIELDS) for w in wifi_sets) if d]
        only = wifi_sets[0] if len(wifi_sets) == 1 else None
        figures.append({"key": "hotspots", "unit": "", "type": WIFI_TYPE,
                        "value": int(sum(_number(_first(w, _WIFI_COUNT_FIELDS)) or 0
                                         for w in wifi_sets)),
                        "dataset": only["name"] if only else None,
                        "title": (only.get("title") or only["name"]) if only else "",
                        "date": max(dates) if dates else None})
    broadband = _latest_of_type(BROADBAND_TYPE)
    if broadband:
        base = {"dataset": broadband["name"], "type": broadband["type"],
                "date": _first(broadband, _BB_DATE_FIELDS),
                "title": broadband.get("title") or broadband["name"]}
        for key, names in (("gigabit", _BB_SHARE_1000_FIELDS), ("50mbit", _BB_SHARE_50_FIELDS)):
            value = _number(_first(broadband, names))
            if value is not None:
                figures.append({**base, "key": key, "value": value, "unit": "%"})
        schools = _number(_first(broadband, _BB_SCHOOLS_FIBRE_FIELDS))
        if schools is not None:
            total = _number(_first(broadband, _BB_SCHOOLS_TOTAL_FIELDS))
            figures.append({**base, "key": "schools", "value": int(schools), "unit": "",
                            "total": int(total) if total is not None else None})
    return figures


def gelsenkirchen_key_figures() -> list[dict]:
    """Key figures of the home page, from the newest harvested datasets.

    Each: key (hotspots, gigabit, 50mbit, schools), value, unit, dataset
    (name; None for the hotspot total over several datasets, which links to
    their list), type, title, date (reference date); schools may carry total.
    Empty when no such dataset exists, so the block is left out.
    """
    return _cached("key_figures", _compute_key_figures)


def gelsenkirchen_home_search() -> dict:
    """Newest datasets and theme facet of the home page (cached)."""
    def compute() -> dict:
        result = _search(rows=5, sort="metadata_created desc",
                         **{"facet.field": f'["{_THEME_FACET}", "groups"]', "facet.limit": 13})
        facets = result.get("search_facets") or {}
        themes: list[dict] = []
        for field in (_THEME_FACET, "groups"):
            items = (facets.get(field) or {}).get("items") or []
            if items:
                themes = [{"field": field, "name": i["name"],
                           "label": i.get("display_name") or i["name"], "count": i["count"]}
                          for i in sorted(items, key=lambda i: -i["count"])]
                break
        return {"newest": result["results"], "themes": themes, "count": result.get("count", 0)}
    return _cached("home_search", compute)


def gelsenkirchen_theme_label(field: str, value: str, fallback: str = "") -> str:
    """Label of a theme facet value in the current language."""
    try:
        from ckanext.gelsenkirchen.logic.template_helpers import gelsenkirchen_facet_label
    except ImportError:
        return fallback or value
    return gelsenkirchen_facet_label(field, value) or fallback or value


def gelsenkirchen_format_date(value: Any) -> str:
    """A reference date as the current language writes it (date only)."""
    if not value:
        return ""
    try:
        parsed = datetime.datetime.fromisoformat(str(value).replace("Z", "+00:00"))
    except ValueError:
        return str(value)
    return parsed.strftime("%d.%m.%Y" if tk.h.lang() == "de" else "%Y-%m-%d")


def gelsenkirchen_format_number(value: Any, decimals: int = 0) -> str:
    """A number in the current language's notation (German: 1.234,5)."""
    number = _number(value)
    if number is None:
        return ""
    from babel.numbers import format_decimal
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    locale = "de_DE" if tk.h.lang() == "de" else "en_GB"
    return format_decimal(round(number, decimals), format=pattern, locale=locale)


def gelsenkirchen_legal_pages() -> list[tuple[str, str]]:
    """(endpoint, label) of the legal pages linked from the footer."""
    return [("gelsenkirchen_legal.impressum", tk._("Legal notice")),
            ("gelsenkirchen_legal.datenschutz", tk._("Privacy statement")),
            ("gelsenkirchen_legal.barrierefreiheit", tk._("Accessibility statement"))]


def gelsenkirchen_map_config() -> dict:
    """Background map settings for the dataset-page maps and the search widget."""
    now = datetime.date.today()
    attribution = tk.config.get("ckanext.gelsenkirchen.map.attribution") or ""
    return {
        "tile_url": tk.config.get("ckanext.gelsenkirchen.map.tile_url"),
        "attribution": attribution.replace("{month_year}", f"{now.month:02d}/{now.year}"),
        "max_zoom": tk.asint(tk.config.get("ckanext.gelsenkirchen.map.max_zoom", 18)),
    }


def gelsenkirchen_type_registered(dataset_type: str) -> bool:
    """True when the dataset type has its pages (a schema defines it)."""
    from flask import current_app
    return f"{dataset_type}.search" in current_app.view_functions


def _datastore_resource(pkg: dict) -> dict | None:
    for resource in pkg.get("resources") or []:
        if resource.get("datastore_active") in (True, "true", "True"):
            return resource
    return None


def _download_url(pkg: dict, fmt: str) -> str | None:
    """The address of the dataset's download of format ``fmt``.

    A file resource comes first: the harvesters' CSV file neutralises
    spreadsheet formulas, the DataStore table's dump does not; the dump is
    the fallback for datasets without such a file. Only URLs CKAN accepts as
    such (``h.is_url``: http, https, ftp by default) are links, never
    ``javascript:``.
    """
    matching = [r for r in pkg.get("resources") or []
                if (r.get("format") or "").lower() == fmt.lower()]
    matching.sort(key=lambda r: r.get("url_type") == "datastore" or bool(r.get("datastore_active")))
    for resource in matching:
        url = resource.get("url") or ""
        if tk.h.is_url(url):
            return url
    return None


def _datastore_rows(resource_id: str, **extra: Any) -> tuple[list[dict], list[str], int]:
    limit = tk.asint(tk.config.get("ckanext.gelsenkirchen.map.max_rows", 5000))
    try:
        result = tk.get_action("datastore_search")(
            {}, {"resource_id": resource_id, "limit": limit, **extra})
    except (tk.ObjectNotFound, tk.NotAuthorized, tk.ValidationError):
        return [], [], 0
    except Exception:  # DataStore not configured or down: the page still renders
        log.warning("datastore_search failed for %s", resource_id, exc_info=True)
        return [], [], 0
    columns = [f["id"] for f in result.get("fields", []) if f["id"] != "_id"]
    return compat.datastore_records(result), columns, result.get("total", 0)


def _api_example(resource_id: str, **params: Any) -> str:
    query = urlencode({"resource_id": resource_id, **params})
    return tk.h.url_for("api.action", ver=3, logic_function="datastore_search",
                        qualified=True) + "?" + query


def gelsenkirchen_wifi_page(pkg: dict, filter_text: str = "") -> dict:
    """Rows, columns, markers and links of a wifi-hotspots dataset page
    (derived once per version of the dataset: page_cache.py; the filter is
    applied per view)."""
    data = page_cache.for_dataset("wifi-hotspots", pkg, lambda: _wifi_data(pkg))
    needle = (filter_text or "").strip().lower()
    shown = data["rows"]
    if needle:
        shown = [r for r in shown
                 if any(needle in str(r.get(c) or "").lower() for c, _label in data["columns"])]
    return {**data, "rows": shown, "filter": filter_text or ""}


def _wifi_data(pkg: dict) -> dict:
    resource = _datastore_resource(pkg)
    rows: list[dict] = []
    columns: list[tuple[str, str]] = []
    total = 0
    if resource:
        rows, present, total = _datastore_rows(resource["id"], sort="name")
        columns = [(c, tk._(label)) for c, label in WIFI_COLUMNS if c in present]
    markers = []
    for row in rows:
        lat, lon = _number(row.get("latitude")), _number(row.get("longitude"))
        if lat is None or lon is None:
            continue
        markers.append({"lat": lat, "lon": lon,
                        **{k: "" if row.get(k) is None else str(row.get(k))
                           for k in ("name", "address", "postcode", "status", "operator")}})
    return {
        "resource": resource,
        "columns": columns,
        "rows": rows,
        "total": total,
        "markers": markers,
        "filter": "",
        "csv_url": _download_url(pkg, "csv"),
        "geojson_url": _download_url(pkg, "geojson"),
        "api_url": resource and _api_example(resource["id"], q="Rathaus", limit=5),
    }


_VIEWS = {WIFI_TYPE: ("gelsenkirchen/snippets/wifi_hotspots.html", "hotspot_filter"),
          BROADBAND_TYPE: ("gelsenkirchen/snippets/broadband_coverage.html", "indicator")}


def gelsenkirchen_dataset_view(pkg: dict) -> Markup:
    """The rendered map/table/chart block of a wifi-hotspots or
    broadband-coverage page, once per version of the dataset, language,
    month (of the map attribution) and indicator (page_cache.py); a table
    filtered by the visitor is rendered for that view only."""
    view = _VIEWS.get(pkg.get("type") or "")
    if not view:
        return Markup("")
    template, arg_name = view
    arg = (request.args.get(arg_name, "") if has_request_context() else "").strip()

    def render() -> Markup:
        # the argument is passed, not read from the request by the snippet,
        # so that a cached block is exactly what its key says
        return Markup(tk.render_snippet(template, {"pkg": pkg, arg_name: arg}))
    if arg_name == "hotspot_filter" and arg:
        return render()
    if arg not in BROADBAND_INDICATORS:  # no filter, or an unknown indicator
        arg = ""
    return page_cache.for_dataset("view", pkg, render, arg, datetime.date.today().strftime("%Y-%m"))


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
    resource = _datastore_resource(pkg)
    out: dict[str, Any] = {"resource": resource, "rows": [], "indicators": [], "indicator": None,
                           "latest": None, "trend_svg": Markup(""),
                           "geojson_url": _download_url(pkg, "geojson"),
                           "csv_url": _download_url(pkg, "csv"), "api_url": None}
    if not resource:
        return out
    rows, columns, _total = _datastore_rows(resource["id"])
    cols = _bb_columns(columns, rows)
    if not cols["area"] or not cols["date"] or not cols["indicators"]:
        return out
    out["api_url"] = _api_example(resource["id"], limit=20, sort=f"{cols['date']} desc")
    out["indicators"] = [(k, tk._(BROADBAND_INDICATORS[k][0]), col)
                         for k, col in cols["indicators"].items()]
    chosen = indicator if indicator in cols["indicators"] else next(iter(cols["indicators"]))
    out.update(indicator=chosen, indicator_column=cols["indicators"][chosen],
               area_column=cols["area"])
    dates = sorted({str(r.get(cols["date"]))[:10] for r in rows if r.get(cols["date"])})
    if not dates:
        return out
    latest = out["latest"] = dates[-1]

    def is_city(row: dict) -> bool:
        return bool(cols["level"]) and str(row.get(cols["level"]) or "").lower() in _CITY_LEVELS

    of_latest = [r for r in rows if str(r.get(cols["date"]))[:10] == latest and not is_city(r)]
    # per Stadtteil where the data has that level (not Stadtbezirke or grid cells)
    latest_rows = [r for r in of_latest
                   if str(r.get(cols["level"]) or "").lower() == dataset_types.STADTTEIL_LEVEL
                   ] or of_latest
    out["rows"] = sorted(
        ({"area": str(r.get(cols["area"]) or ""),
          **{k: _number(r.get(col)) for k, col in cols["indicators"].items()}}
         for r in latest_rows), key=lambda r: r["area"])
    # city-wide series: the city row where one exists, else the mean of the areas
    series: dict[str, list[tuple[str, float]]] = {k: [] for k in cols["indicators"]}
    for date in dates:
        of_date = [r for r in rows if str(r.get(cols["date"]))[:10] == date]
        city = [r for r in of_date if is_city(r)] or of_date
        for key, col in cols["indicators"].items():
            values = [v for v in (_number(r.get(col)) for r in city) if v is not None]
            if values:
                series[key].append((date, sum(values) / len(values)))
    out["trend"] = series
    out["trend_svg"] = _trend_svg(series, {k: label for k, label, _c in out["indicators"]})
    return out


_SERIES_STYLE = {"50": ("#1f5f99", ""), "1000": ("#a3324f", "6 3"), "ftthb": ("#2c6e2f", "2 3")}


def _trend_svg(series: dict[str, list[tuple[str, float]]], labels: dict[str, str]) -> Markup:
    """A line chart (0-100 %) over the reference dates, as inline SVG; all text escaped."""
    dates = sorted({d for points in series.values() for d, _v in points})
    if not dates:
        return Markup("")
    width, height, left, right, top, bottom = 640, 280, 48, 44, 16, 84
    plot_w, plot_h = width - left - right, height - top - bottom

    def x(date: str) -> float:
        if len(dates) == 1:
            return left + plot_w / 2
        return left + plot_w * dates.index(date) / (len(dates) - 1)

    def y(value: float) -> float:
        return top + plot_h * (1 - max(0.0, min(100.0, value)) / 100)

    title = tk._("Trend of the city-wide shares over all reference dates")
    parts = [f'<svg class="gk-trend" role="img" aria-labelledby="gk-trend-title" '
             f'viewBox="0 0 {width} {height}" xmlns="http://www.w3.org/2000/svg">',
             f'<title id="gk-trend-title">{escape(title)}</title>']
    for tick in (0, 25, 50, 75, 100):
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y(tick):.1f}" '
                     f'y2="{y(tick):.1f}" stroke="#767676" stroke-width="0.5"/>')
        parts.append(f'<text x="{left - 6}" y="{y(tick) + 4:.1f}" text-anchor="end" '
                     f'font-size="12" fill="#1a1a1a">{tick} %</text>')
    for date in dates:
        parts.append(f'<text x="{x(date):.1f}" y="{top + plot_h + 18}" text-anchor="middle" '
                     f'font-size="12" fill="#1a1a1a">{escape(gelsenkirchen_format_date(date))}</text>')
    legend_y = top + plot_h + 40
    for key, points in series.items():
        if not points:
            continue
        colour, dash = _SERIES_STYLE.get(key, ("#1a1a1a", ""))
        dash_attr = f' stroke-dasharray="{dash}"' if dash else ""
        path = " ".join(f"{x(d):.1f},{y(v):.1f}" for d, v in points)
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5"{dash_attr} '
                     f'points="{path}"/>')
        label = escape(labels.get(key, key))
        for d, v in points:
            parts.append(f'<circle cx="{x(d):.1f}" cy="{y(v):.1f}" r="3.5" fill="{colour}">'
                         f'<title>{label}: {escape(gelsenkirchen_format_date(d))}, '
                         f'{escape(gelsenkirchen_format_number(v, 1))} %</title></circle>')
        parts.append(f'<line x1="{left}" x2="{left + 24}" y1="{legend_y - 4}" y2="{legend_y - 4}" '
                     f'stroke="{colour}" stroke-width="2.5"{dash_attr}/>')
        parts.append(f'<text x="{left + 30}" y="{legend_y}" font-size="12" fill="#1a1a1a">'
                     f'{label}</text>')
        legend_y += 16
    parts.append("</svg>")
    return Markup("".join(parts))
