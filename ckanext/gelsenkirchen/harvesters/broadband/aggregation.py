"""Aggregation of broadband records: grid cells to the Stadtteile of the
boundaries file and to the city, and the city row of every reference date,
household-weighted (each cell or area counts once where no household count
exists). Pure: no CKAN, no database, no network.
"""
from __future__ import annotations

import numpy as np
import shapely

from ckanext.gelsenkirchen.geography import CITY_AGS, CITY_NAME, Boundary

from .geopackage import GridCells
from .options import BroadbandOptions
from .scheme import AreaRecord, ParseResult


def weighted_mean(values: np.ndarray, weights: np.ndarray) -> float | None:
    """Mean of the non-missing values weighted by ``weights``; None when no
    value (or no weight) is present."""
    mask = ~np.isnan(values) & (weights > 0)
    if not mask.any():
        return None
    return float(np.sum(values[mask] * weights[mask]) / np.sum(weights[mask]))


def _aggregate_arrays(indices: np.ndarray, grid: GridCells) -> tuple[dict, float | None, dict]:
    """Household-weighted (else per-cell) means for the cells ``indices``."""
    households = grid.households[indices]
    has_households = bool((~np.isnan(households)).any())
    weights = np.nan_to_num(households, nan=0.0) if has_households else np.ones(len(indices))
    measures = {}
    for name, values in grid.measures.items():
        mean = weighted_mean(values[indices], weights)
        if mean is not None:
            measures[name] = round(mean, 4)
    total_households = float(np.nansum(households)) if has_households else None
    counts = {name: int(values[indices].sum()) for name, values in grid.counts.items()}
    return measures, total_households, counts


def aggregate_grid(grid: GridCells, parsed: ParseResult, boundaries: list[Boundary],
                   opts: BroadbandOptions) -> ParseResult:
    """Aggregate grid cells of the city (``ags``) to the Stadtteile of
    ``boundaries`` (cell centroid in polygon; geography.py) and to the whole
    city, per reference date.

    Households weight each cell where household counts exist; where a
    Stadtteil has none, every cell counts once. Cells of the city whose
    centroid lies in no Stadtteil count for the city only (reported)."""
    result = ParseResult(skipped=list(parsed.skipped), notes=list(parsed.notes),
                         stats=dict(parsed.stats))
    ags = np.array([(a or "").strip() for a in grid.ags], dtype=object)
    in_city = ags == opts.ags
    other = int((~in_city).sum())
    if other:
        result.notes.append(f"{other} cell(s) with another ags than {opts.ags} left out")
    x, y = grid.centroids[:, 0], grid.centroids[:, 1]
    assigned = np.full(len(ags), -1, dtype=int)
    for index, boundary in enumerate(boundaries):
        shapely.prepare(boundary.geometry)
        inside = shapely.contains_xy(boundary.geometry, x, y) & in_city & (assigned < 0)
        assigned[inside] = index
    unassigned = int((in_city & (assigned < 0)).sum())
    if unassigned:
        result.notes.append(f"{unassigned} city cell(s) lie in no Stadtteil of the boundaries "
                            "file; counted for the city figure only")
    dates = np.array(grid.reference_dates, dtype=object)
    for date in sorted(set(grid.reference_dates)):
        of_date = in_city & (dates == date)
        for index, boundary in enumerate(boundaries):
            cells = np.nonzero(of_date & (assigned == index))[0]
            if not len(cells):
                continue
            measures, households, counts = _aggregate_arrays(cells, grid)
            result.records.append(AreaRecord(
                area_id=boundary.code, area_name=boundary.name, area_level="stadtteil",
                reference_date=date, households=households, measures=measures, counts=counts,
                geometry=boundary.geometry, aggregated_from=len(cells), ags=opts.ags))
        cells = np.nonzero(of_date)[0]
        if len(cells):
            measures, households, counts = _aggregate_arrays(cells, grid)
            result.records.append(AreaRecord(
                area_id=opts.ags, area_name=CITY_NAME, area_level="stadt", reference_date=date,
                households=households, measures=measures, counts=counts,
                aggregated_from=len(cells), ags=opts.ags))
    result.stats["cells_in_city"] = int(in_city.sum())
    return result


def _finest_level(records: list[AreaRecord]) -> str | None:
    levels = {r.area_level for r in records}
    for level in ("stadtteil", "stadtbezirk", "grid", "stadt"):
        if level in levels:
            return level
    return None


def city_summary(records: list[AreaRecord], reference_date: str | None = None) -> AreaRecord | None:
    """The whole city at one reference date (default: the latest).

    Uses the source's own city row if there is one; otherwise the
    household-weighted mean of the finest area level present (each area
    counts once where no area has a household count). Counts and
    households are summed."""
    if not records:
        return None
    date = reference_date or max(r.reference_date for r in records)
    of_date = [r for r in records if r.reference_date == date]
    city = [r for r in of_date if r.area_level == "stadt"]
    if city:
        return city[0]
    level = _finest_level(of_date)
    areas = [r for r in of_date if r.area_level == level]
    if not areas:
        return None
    households = np.array([np.nan if r.households is None else r.households for r in areas])
    has_households = bool((~np.isnan(households)).any())
    weights = np.nan_to_num(households, nan=0.0) if has_households else np.ones(len(areas))
    names = sorted({m for r in areas for m in r.measures})
    measures = {}
    for name in names:
        values = np.array([r.measures.get(name, np.nan) for r in areas], dtype=float)
        mean = weighted_mean(values, weights)
        if mean is not None:
            measures[name] = round(mean, 4)
    counts: dict[str, int] = {}
    for r in areas:
        for name, value in r.counts.items():
            counts[name] = counts.get(name, 0) + value
    return AreaRecord(
        area_id=CITY_AGS, area_name=CITY_NAME, area_level="stadt", reference_date=date,
        households=float(np.nansum(households)) if has_households else None,
        measures=measures, counts=counts, aggregated_from=len(areas), ags=CITY_AGS)


def with_city_rows(records: list[AreaRecord], ags: str = CITY_AGS) -> list[AreaRecord]:
    """Records plus a computed city row for every reference date that has
    none, so the DataStore carries the city's trend as well."""
    out = list(records)
    for date in sorted({r.reference_date for r in records}):
        of_date = [r for r in records if r.reference_date == date]
        if any(r.area_level == "stadt" for r in of_date):
            continue
        city = city_summary(of_date, date)
        if city is not None:
            city.area_id = ags
            city.ags = ags
            out.append(city)
    return out
