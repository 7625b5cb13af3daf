"""Translated, formatted messages of the extension's validators.

``_`` looks the English msgid up in the extension's catalogue (babel
extracts ``_("...")`` calls as usual, so every message is in
``i18n/de/LC_MESSAGES/ckanext-gelsenkirchen.po``) and fills in its
``{placeholders}``. In a request the message is in the user's language;
outside one (harvest consumers, CLI) in the portal's default language.
"""
from __future__ import annotations

import functools
import gettext
import pathlib

import ckan.plugins.toolkit as tk
from flask import has_request_context

I18N = pathlib.Path(__file__).resolve().parents[1] / "i18n"


def current_lang() -> str:
    try:
        from ckan.lib.i18n import get_lang

        return str(get_lang() or "de")
    except Exception:  # outside a request (CLI, harvester worker)
        return str(tk.config.get("ckan.locale_default") or "de")


@functools.lru_cache(maxsize=8)
def _catalogue(lang: str) -> gettext.NullTranslations:
    return gettext.translation("ckanext-gelsenkirchen", localedir=I18N, languages=[lang],
                               fallback=True)


def _(msgid: str, **kwargs: str) -> str:
    """The message for ``msgid`` in the current language, ``kwargs`` filled in."""
    if has_request_context():
        text = str(tk._(msgid))
    else:
        text = _catalogue(str(tk.config.get("ckan.locale_default") or "en")).gettext(msgid)
    return text.format(**kwargs) if kwargs else text
