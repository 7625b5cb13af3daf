"""A broadband dataset keeps every reference date: the history across runs,
the areas the deletion guard compares (those of the latest date) and the
city's figures at the latest date (the derived fields of the schema).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ckanext.gelsenkirchen.dataset_types import LEVELS, MEASURE_PREFIX, SPEEDS


def latest_date(rows: Sequence[dict[str, Any]]) -> str | None:
    return max((r["reference_date"] for r in rows), default=None)


def merge_history(published: Sequence[dict[str, Any]],
                  new: Sequence[dict[str, Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """History across runs: the new rows replace the published rows of
    their reference dates; rows of other dates are kept."""
    new_dates = {r["reference_date"] for r in new}
    old_dates = {r["reference_date"] for r in published}
    kept = [r for r in published if r["reference_date"] not in new_dates]
    merged = sorted([*kept, *new], key=lambda r: (
        r["reference_date"], LEVELS.index(r.get("area_level", "stadtteil"))
        if r.get("area_level") in LEVELS else 9, str(r["area_id"])))
    return merged, {
        "added_dates": sorted(new_dates - old_dates),
        "replaced_dates": sorted(new_dates & old_dates),
        "kept_dates": sorted(old_dates - new_dates),
        "kept_rows": len(kept),
    }


def city_figures(rows: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """The derived fields of the broadband-coverage schema: the figures of
    the whole city at the latest reference date (the city row, which the
    harvester computes household-weighted when the source has none)."""
    latest = latest_date(rows)
    if latest is None:
        return {}
    of_latest = [r for r in rows if r["reference_date"] == latest]
    city = next((r for r in of_latest if r.get("area_level") == "stadt"), None)
    if city is None:
        return {"reference_date": latest}
    speeds = sorted({int(name.rsplit("_", 1)[1]) for r in of_latest for name in r
                     if name.startswith(MEASURE_PREFIX)})

    def pct(name: str) -> float | None:
        value = city.get(name)
        return None if value is None else round(float(value), 2)

    ftthb = next((pct(f"{MEASURE_PREFIX}ftthb_{s}") for s in SPEEDS
                  if city.get(f"{MEASURE_PREFIX}ftthb_{s}") is not None), None)
    figures: dict[str, Any] = {
        "reference_date": latest,
        "speed_classes": [f"ge{s}" for s in speeds if s >= 16],
        "households_50mbit_share": pct(f"{MEASURE_PREFIX}alle_50"),
        "households_1gbit_share": pct(f"{MEASURE_PREFIX}alle_1000"),
        "households_ftth_share": ftthb,
    }
    for kind in ("schools", "hospitals", "business_parks"):
        fibre, without = city.get(f"{kind}_fibre"), city.get(f"{kind}_no_fibre")
        if fibre is not None or without is not None:
            figures[f"{kind}_connected"] = int(fibre or 0)
            figures[f"{kind}_total"] = int(fibre or 0) + int(without or 0)
    return figures
