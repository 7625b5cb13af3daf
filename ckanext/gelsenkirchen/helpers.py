"""Template helpers of ckanext-gelsenkirchen (collected by toolkit.blanket.helpers).

Re-exports the schema helpers (``logic/template_helpers.py``: form choices,
facet labels); the module lists its helpers in ``__all__``.
"""
from __future__ import annotations

from ckanext.gelsenkirchen.logic import template_helpers as _schema_helpers
from ckanext.gelsenkirchen.logic.template_helpers import *  # noqa: F403

__all__: list[str] = []
__all__ += _schema_helpers.__all__
