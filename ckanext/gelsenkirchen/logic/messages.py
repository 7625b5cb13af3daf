"""Translated, formatted messages of the extension.

``_`` looks the English msgid up in the extension's catalogue (babel
extracts ``_("...")`` calls as usual, so every message is in
``i18n/de/LC_MESSAGES/ckanext-gelsenkirchen.po``) and fills in its
``{placeholders}``. In a request the message is in the user's language;
outside one (harvest consumers, CLI) in the portal's default language.

Messages that are written now and read later (the harvesters' job
reports) are stored untranslated as :data:`Message`: ``{"id": msgid,
"params": {...}}`` with the msgid marked by :func:`N_` (so babel extracts
it), or a plain English string from code that does not pass parameters
yet. :func:`render` turns either into text in any language when a page
shows it; the log and ckanext-harvest's own tables keep the English text.
"""
from __future__ import annotations

import functools
import gettext
import pathlib
import re
import string
from typing import Any

import ckan.plugins.toolkit as tk
from flask import has_request_context

I18N = pathlib.Path(__file__).resolve().parents[1] / "i18n"

#: a stored message: {"id": English msgid with {placeholders}, "params": {...}}
#: (a parameter may itself be a message) or free English text
Message = dict[str, Any] | str

# bounds for rendering stored (harvested) text: nesting and the ": " split
_MAX_DEPTH = 4


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


def N_(msgid: str) -> str:  # noqa: N802 - the gettext convention babel extracts
    """Mark ``msgid`` for the catalogue without translating it now."""
    return msgid


def message(msgid: str, **params: Any) -> Message:
    """A message to store: ``msgid`` (marked with :func:`N_`) and its parameters."""
    return {"id": msgid, "params": params} if params else msgid


def _fill(template: str, params: dict[str, Any], lang: str, depth: int) -> str:
    values = {key: render(value, lang, depth + 1) if isinstance(value, dict) else value
              for key, value in params.items()}
    try:
        return template.format_map(values)
    except (KeyError, IndexError, ValueError):  # a catalogue entry that does not fit
        return template


def _translate_text(text: str, lang: str, depth: int) -> str:
    """Free English text: the whole text from the catalogue, else its head
    before the first ": " (the detail after it, e.g. an exception's text,
    translated the same way)."""
    catalogue = _catalogue(lang)
    found = catalogue.gettext(text)
    if found != text or depth >= _MAX_DEPTH:
        return found
    head, sep, tail = text.partition(": ")
    if sep and catalogue.gettext(head) != head:
        return f"{catalogue.gettext(head)}: {_translate_text(tail, lang, depth + 1)}"
    return text


def render(stored: Message | None, lang: str | None = None, depth: int = 0) -> str:
    """A stored message as text in ``lang`` (default: the user's language;
    ``"en"`` gives the English text the log has)."""
    if stored is None:
        return ""
    lang = lang or current_lang()
    if isinstance(stored, str):
        return stored if lang == "en" else _translate_text(stored, lang, depth)
    msgid = str(stored.get("id", ""))
    template = msgid if lang == "en" else _catalogue(lang).gettext(msgid)
    return _fill(template, dict(stored.get("params") or {}), lang, depth)


@functools.lru_cache(maxsize=64)
def _pattern(template: str) -> re.Pattern[str]:
    parts = []
    for literal, field, _spec, _conv in string.Formatter().parse(template):
        parts.append(re.escape(literal))
        if field is not None:
            parts.append(f"(?P<{field}>.*?)")
    return re.compile("".join(parts) + r"\Z", re.S)


def parse(text: str, templates: tuple[str, ...]) -> Message:
    """The message of ``templates`` that rendered the English ``text``, for
    text ckanext-harvest stores as a plain string (gather errors); free
    text when none matches."""
    for template in templates:
        match = _pattern(template).match(text)
        if match:
            return message(template, **match.groupdict())
    return text
