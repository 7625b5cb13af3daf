"""The list pager with an accessible name on every link.

CKAN's pager (``ckan.lib.pagination.Page.pager``) draws "previous" and
"next" as icons without text: links without a name (axe ``link-name``,
WCAG 2.4.4). Here every link is named ("Vorherige Seite", "Seite 2",
"Nächste Seite"), the current page is marked ``aria-current``, and the list
is a ``nav`` landmark. The numbers stay visible; their name contains them
(WCAG 2.5.3 Label in Name).
"""
from __future__ import annotations

import copy
from typing import Any

import ckan.plugins.toolkit as tk
from ckan.lib.pagination import Page
from dominate import tags
from markupsafe import Markup, escape

__all__ = ["gelsenkirchen_pager"]


def _symbol(icon: str, name: str) -> Any:
    # a dominate element, as CKAN's own symbols: the pager escapes strings
    return tags.span(tags.i(cls=f"fa-solid {icon}", aria_hidden="true"),
                     tags.span(name, cls="visually-hidden"))


class _NamedPage(Page):
    link_attr: dict[str, Any]  # set by Page.pager

    def _pagerlink(self, page: int, text: str,
                   extra_attributes: dict[str, Any] | None = None) -> str:
        if not str(text).isdigit():
            return super()._pagerlink(page, text, extra_attributes)
        plain = self.link_attr
        self.link_attr = {**plain, "aria-label": tk._("Page {number}").format(number=page)}
        if page == self.page:
            self.link_attr["aria-current"] = "page"
        try:
            return super()._pagerlink(page, text, extra_attributes)
        finally:
            self.link_attr = plain


def gelsenkirchen_pager(page: Page, **link_params: Any) -> Markup:
    """``page.pager(**link_params)`` with named links, in a labelled ``nav``."""
    # (the page's list of items can be empty on later pages: count pages)
    if getattr(page, "page_count", 0) < 2:
        return Markup("")
    named = copy.copy(page)
    named.__class__ = _NamedPage  # the same state, drawn with named links
    links = named.pager(symbol_previous=_symbol("fa-chevron-left", tk._("Previous page")),
                        symbol_next=_symbol("fa-chevron-right", tk._("Next page")),
                        **link_params)
    return Markup('<nav aria-label="{}">{}</nav>').format(escape(tk._("Pages")), links)
