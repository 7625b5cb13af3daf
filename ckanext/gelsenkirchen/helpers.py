"""Template helpers of ckanext-gelsenkirchen (collected by toolkit.blanket.helpers).

Re-exports the schema helpers (``logic/template_helpers.py``: form choices,
facet labels) and the theme helpers (``theme_helpers.py``: home-page figures,
dataset-page maps and tables, legal pages); each module lists its helpers
in ``__all__``.
"""
from __future__ import annotations

# the portal theme's helpers (theme_helpers.py: home figures, dataset-page maps)
from ckanext.gelsenkirchen import pager as _pager
from ckanext.gelsenkirchen import theme_helpers as _theme_helpers
from ckanext.gelsenkirchen.logic import template_helpers as _schema_helpers
from ckanext.gelsenkirchen.logic.template_helpers import *  # noqa: F403
from ckanext.gelsenkirchen.pager import *  # noqa: F403
from ckanext.gelsenkirchen.theme_helpers import *  # noqa: F403

__all__: list[str] = []
__all__ += _schema_helpers.__all__
__all__ += _theme_helpers.__all__
__all__ += _pager.__all__
