"""The operator page of a harvest source (issue 16): the last runs as a
table and a chart, the state of the last run in words, the next due run,
the skipped rows of the last run (also as CSV) and, when the deletion
guard stopped a run, what it would remove and a button releasing it for
one run.

Only for those who may edit the source (ckanext-harvest's
``harvest_source_update`` auth: editors and admins of the source's
organization, sysadmins): others get 403, an unknown source 404.
"""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from ckan.types import Context
from flask import Blueprint, Response, request

from ckanext.gelsenkirchen.harvesters import runs
from ckanext.gelsenkirchen.harvesters.exports import rows_to_csv
from ckanext.gelsenkirchen.logic import messages
from ckanext.gelsenkirchen.logic.messages import render

operator = Blueprint("gelsenkirchen_operator", __name__)

CHART_RUNS = 10
CSV_COLUMNS = ("row", "id", "reason")


def _context() -> Context:
    return Context(user=tk.current_user.name if tk.current_user.is_authenticated else "")


def _source_or_abort(source_id: str) -> tuple[dict[str, Any], Any]:
    """The source (its harvest_source_show dict and model row) the current
    user may operate (logic/auth.py); 404 for an unknown source, 403 for
    anyone else."""
    from ckanext.harvest.model import HarvestSource

    context = _context()
    try:
        tk.check_access("gelsenkirchen_harvest_history", context, {"id": source_id})
        source = tk.get_action("harvest_source_show")(
            Context(**context, use_cache=False), {"id": source_id})
    except tk.ObjectNotFound:
        return tk.abort(404, tk._("Harvest source not found"))
    except tk.NotAuthorized:
        return tk.abort(403, tk._("You may not operate this harvest source"))
    return source, HarvestSource.get(source["id"])


def _chart(history: list[runs.Run]) -> dict[str, Any]:
    """Bars of the last runs, oldest first: rows published and skipped
    (heights in % of the largest) and duration; the table carries the
    same numbers for screen readers."""
    shown = list(reversed(history[:CHART_RUNS]))
    top = max([1] + [(r.published or 0) + r.skipped for r in shown])
    longest = max([1.0] + [r.duration_s or 0 for r in shown])
    return {"bars": [{"run": r, "published": round(100 * (r.published or 0) / top, 1),
                      "skipped": round(100 * r.skipped / top, 1),
                      "duration": round(100 * (r.duration_s or 0) / longest, 1)}
                     for r in shown], "top": top, "longest": round(longest, 1)}


@operator.route("/harvest/<source_id>/runs")
def source_runs(source_id: str) -> str:
    source, model_source = _source_or_abort(source_id)
    history = runs.history(source["id"])
    last = history[0] if history else None
    return tk.render("gelsenkirchen/operator/source.html", extra_vars={
        "source": source, "history": history, "last": last, "chart": _chart(history),
        "next_due": runs.next_due(model_source, last), "render": render,
        "frequency": (model_source.frequency or "MANUAL").upper()})


@operator.route("/harvest/<source_id>/runs/skipped.csv")
def skipped_csv(source_id: str) -> Response:
    source, _ = _source_or_abort(source_id)
    history = runs.history(source["id"], limit=1)
    report = history[0].report if history else None
    rows = report.skipped_rows() if report else []
    name = f"{source['name']}-skipped-rows.csv"
    return Response(rows_to_csv(rows, CSV_COLUMNS), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@operator.route("/harvest/<source_id>/runs/release", methods=["POST"])
def release_guard(source_id: str) -> Any:
    """``gelsenkirchen_harvest_release_guard`` as the user, so the source's
    activity stream names who released it."""
    source, _ = _source_or_abort(source_id)
    try:
        tk.get_action("gelsenkirchen_harvest_release_guard")(_context(), {"id": source["id"]})
    except tk.ValidationError as error:
        tk.h.flash_error(next(iter(error.error_summary.values()), str(error)))
    else:
        tk.h.flash_success(tk._("Released: the next run publishes this state (start it now "
                                "with Reharvest, or it runs when it is due)."))
    return tk.redirect_to("gelsenkirchen_operator.source_runs", source_id=source["name"])


@operator.route("/harvest/<source_id>/runs/preview", methods=["POST"])
def source_preview(source_id: str) -> str:
    """The dry run of the source ("Vorschau", ``gelsenkirchen_harvest_preview``),
    with its own configuration or the one in the form; writes nothing."""
    source, _ = _source_or_abort(source_id)
    config_text = (request.form.get("config") or "").strip() or None
    try:
        result = tk.get_action("gelsenkirchen_harvest_preview")(
            _context(), {"id": source["id"], "config": config_text,
                         "lang": messages.current_lang()})
    except tk.ValidationError:
        return tk.abort(413, tk._("The configuration is too long."))
    return tk.render("gelsenkirchen/operator/preview.html", extra_vars={
        "source": source, "preview": result,
        "config_text": config_text or source.get("config") or ""})
