"""Auth functions of the extension's actions (``toolkit.blanket.auth_functions``).

The harvest actions (logic/action.py) and the operator page are for those
who may edit the harvest source: ckanext-harvest's
``harvest_source_update`` auth, that is editors and admins of the source's
organization and sysadmins. Anonymous users, members and other
organizations' editors are refused.
"""
from __future__ import annotations

import ckan.plugins.toolkit as tk
from ckan.types import AuthResult, Context, DataDict

__all__ = ["gelsenkirchen_harvest_history", "gelsenkirchen_harvest_preview",
           "gelsenkirchen_harvest_release_guard"]


def operate_harvest_source(context: Context, data_dict: DataDict) -> AuthResult:
    """May the user operate the harvest source ``data_dict["id"]`` (name or id)?"""
    source_id = data_dict.get("id")
    if not source_id:
        return {"success": False, "msg": tk._("Missing harvest source id")}
    try:
        tk.check_access("harvest_source_update", Context(**context), {"id": source_id})
    except tk.NotAuthorized:
        return {"success": False, "msg": tk._("You may not operate this harvest source")}
    return {"success": True}


gelsenkirchen_harvest_history = operate_harvest_source
gelsenkirchen_harvest_preview = operate_harvest_source
gelsenkirchen_harvest_release_guard = operate_harvest_source
