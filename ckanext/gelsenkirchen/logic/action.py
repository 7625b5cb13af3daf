"""The harvest actions of issue 16 (``toolkit.blanket.actions``), for the
operator's tools and scripts; the operator page (operator_views.py) calls
the same actions or the same functions:

* ``gelsenkirchen_harvest_history``: the last runs of a source in numbers
  and words (harvesters/runs.py), the skipped rows of the last run, the
  next due run;
* ``gelsenkirchen_harvest_preview``: the dry run (harvesters/preview.py);
* ``gelsenkirchen_harvest_release_guard``: publish the state the deletion
  guard stopped, for one run.

Each needs the auth of logic/auth.py (editors and admins of the source's
organization, sysadmins). And, when ckanext-harvest is enabled, a chained
``harvest_jobs_run`` that checks the sources' alerts after it
(harvesters/alerts.py), and a chained ``harvest_source_reindex`` that
indexes a source as CKAN indexes any dataset (compat.py, search index of
harvest sources).
"""
from __future__ import annotations

import json
from typing import Any

import ckan.plugins as p
import ckan.plugins.toolkit as tk
from ckan.logic import auth_audit_exempt
from ckan.types import Action, ChainedAction, Context, DataDict

from ckanext.gelsenkirchen.logic.messages import current_lang


def _source(action: str, context: Context, data_dict: DataDict) -> tuple[dict[str, Any], Any]:
    """The source ``data_dict["id"]`` (name or id) the user may operate:
    its harvest_source_show dict and its HarvestSource."""
    from ckanext.harvest.model import HarvestSource

    source_id = tk.get_or_bust(data_dict, "id")
    tk.check_access(action, context, {"id": source_id})
    source = tk.get_action("harvest_source_show")({**context, "use_cache": False},
                                                  {"id": source_id})
    return source, HarvestSource.get(source["id"])


@tk.side_effect_free
def gelsenkirchen_harvest_history(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """The last runs of a harvest source, newest first.

    :param id: the harvest source's name or id
    :param limit: how many runs (default 10, at most 50)
    :param lang: the language of the words (default: the request's)
    :returns: ``source`` (id, name, title), ``frequency``, ``next_due``,
        ``runs`` (numbers, ``state``, ``words``, ``errors``, ``guard``;
        the newest with ``skipped_rows``)
    """
    from ckanext.gelsenkirchen.harvesters import runs

    source, model_source = _source("gelsenkirchen_harvest_history", context, data_dict)
    try:
        limit = max(1, min(int(data_dict.get("limit", 10)), runs.MAX_RUNS))
    except (TypeError, ValueError):
        raise tk.ValidationError({"limit": [tk._("Must be a whole number")]}) from None
    lang = str(data_dict.get("lang") or current_lang())
    history = runs.history(source["id"], limit=limit)
    due = runs.next_due(model_source, history[0] if history else None)
    return {"source": {key: source.get(key) for key in ("id", "name", "title")},
            "frequency": (model_source.frequency or "MANUAL").upper(),
            "next_due": due.isoformat() if due else None,
            "runs": [run.as_dict(lang, skipped_rows=i == 0) for i, run in enumerate(history)]}


def gelsenkirchen_harvest_preview(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """What a run of the source would publish now, without writing
    anything (rows read, valid, skipped with reasons, +new ~changed -gone,
    whether the deletion guard would stop it).

    :param id: the harvest source's name or id
    :param config: a source configuration to try instead of the source's
        own (JSON text or an object; at most 20,000 characters)
    :param lang: the language of the reasons (default: the request's)
    """
    from ckanext.gelsenkirchen.harvesters import preview

    source, model_source = _source("gelsenkirchen_harvest_preview", context, data_dict)
    config = data_dict.get("config")
    if config is not None and not isinstance(config, str):
        config = json.dumps(config, ensure_ascii=False)
    config = (config or "").strip() or None
    if config is not None and len(config) > preview.MAX_CONFIG_CHARS:
        raise tk.ValidationError({"config": [tk._("The configuration is too long.")]})
    result = preview.preview(model_source, config)
    return result.as_dict(str(data_dict.get("lang") or current_lang()))


def gelsenkirchen_harvest_release_guard(context: Context, data_dict: DataDict) -> dict[str, Any]:
    """Publish the state the deletion guard stopped, at the next run only:
    sets ``accept_drop`` in the source's configuration as the calling user
    (the source's activity names who released it); the base harvester
    removes it after that run.

    :param id: the harvest source's name or id
    :raises ValidationError: when the last run was not stopped by the guard
    """
    from ckanext.gelsenkirchen.harvesters import runs
    from ckanext.gelsenkirchen.harvesters.base import update_source_config

    source, _ = _source("gelsenkirchen_harvest_release_guard", context, data_dict)
    history = runs.history(source["id"], limit=1)
    if not history or history[0].state != runs.GUARD:
        raise tk.ValidationError({"id": [tk._(
            "The last run was not stopped by the deletion guard.")]})
    cfg = json.loads(source.get("config") or "{}")
    cfg["accept_drop"] = True
    update_source_config(source["id"], json.dumps(cfg, ensure_ascii=False, indent=2),
                         Context(user=context.get("user", "")))
    return {"id": source["id"], "name": source["name"], "released": True,
            "job_id": history[0].job_id}


@tk.chained_action
def harvest_jobs_run(original: Action, context: Context, data_dict: DataDict) -> Any:
    """ckanext-harvest's ``harvest_jobs_run`` (it marks finished jobs), then
    the alerts of the sources (only of ``source_id`` when it names one, as
    the test harness and operators call it per source); an alert that fails
    is logged, never raised."""
    from ckanext.gelsenkirchen.harvesters import alerts

    result = original(context, data_dict)
    alerts.after_jobs_run(data_dict.get("source_id") or None)
    return result


@tk.chained_action
@auth_audit_exempt  # as ckanext-harvest's own (CKAN exempts plugin actions, not the chain)
def harvest_source_reindex(original: Action, context: Context, data_dict: DataDict) -> Any:
    """ckanext-harvest's reindex, then the source indexed again by CKAN's own
    ``rebuild``: ckanext-harvest 1.6.3 hands CKAN 2.12 an unvalidated copy
    as the one ``package_show`` serves, without ``source_type``, and the next
    ``ckan harvester run-test`` of the source failed with KeyError."""
    from ckan.lib import search

    result = original(context, data_dict)
    search.rebuild(tk.get_or_bust(data_dict, "id"), defer_commit=bool(context.get("defer_commit")))
    return result


def get_actions() -> dict[str, Action | ChainedAction]:
    """The actions of ``toolkit.blanket.actions``: the harvest actions and
    the chained harvest_jobs_run and harvest_source_reindex when
    ckanext-harvest is enabled."""
    if not p.plugin_loaded("harvest"):
        return {}
    return {"gelsenkirchen_harvest_history": gelsenkirchen_harvest_history,
            "gelsenkirchen_harvest_preview": gelsenkirchen_harvest_preview,
            "gelsenkirchen_harvest_release_guard": gelsenkirchen_harvest_release_guard,
            "harvest_jobs_run": harvest_jobs_run,
            "harvest_source_reindex": harvest_source_reindex}
