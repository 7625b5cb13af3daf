"""Cache-Control headers that a front proxy (nginx) can act on.

A response may be stored by shared caches (``Cache-Control: public,
max-age=N`` with N = ``ckanext.gelsenkirchen.cache.max_age``) only when all
of these hold:

- GET or HEAD, status 200;
- the user is anonymous and the request carries no API token (the
  ``apitoken_header_name`` header, ``Authorization`` by default);
- the response sets no cookie and its page put no CSRF token in a form
  (a token is tied to the visitor's session); on CKAN 2.10 every response
  sets beaker's session cookie (see compat.py), so nothing is shared there;
- the page showed no private dataset (page_cache.mark_private).

Every other GET/HEAD response gets ``Cache-Control: private, no-store``
instead (CKAN itself sends ``public`` for API answers to token requests once
``ckan.cache_enabled`` is on). ``Vary: Cookie, Accept`` goes with every
response: the page differs for a logged-in user, and ckanext-dcat answers
the same address with RDF for another ``Accept``. With ``max_age = 0`` no
response is marked public (``no-cache``).

The hook runs after CKAN's own (``set_cache_control_headers_for_response``)
so that its decision is the one sent.
"""
from __future__ import annotations

from typing import Any

import ckan.plugins.toolkit as tk
from flask import request

MAX_AGE_OPTION = "ckanext.gelsenkirchen.cache.max_age"
PRIVATE = "private, no-store"


def _anonymous() -> bool:
    from ckan.common import current_user
    if current_user and current_user.is_authenticated:
        return False
    header = tk.config.get("apitoken_header_name") or "Authorization"
    return not (request.headers.get(header) or request.headers.get("Authorization")
                or request.headers.get("X-CKAN-API-Key"))


def _sets_cookie(response: Any) -> bool:
    # beaker (CKAN 2.10's sessions) adds its cookie outside Flask, after
    # this hook, on every response: see compat.py
    return "Set-Cookie" in response.headers or "beaker.session" in request.environ


def _csrf_token_rendered() -> bool:
    field = tk.config.get("WTF_CSRF_FIELD_NAME") or "_csrf_token"
    return field in tk.g


def cache_control(response: Any) -> Any:
    """Flask after_request hook (registered last, so it runs after CKAN's)."""
    if request.method not in ("GET", "HEAD"):
        return response
    max_age = tk.asint(tk.config.get(MAX_AGE_OPTION, 60))
    shareable = (response.status_code == 200 and _anonymous()
                 and not _sets_cookie(response)
                 and not _csrf_token_rendered()
                 and not getattr(tk.g, "gelsenkirchen_private_data", False))
    response.headers.pop("Pragma", None)
    if not shareable:
        response.headers["Cache-Control"] = PRIVATE
    elif max_age > 0:
        response.headers["Cache-Control"] = f"public, max-age={max_age}"
    else:
        response.headers["Cache-Control"] = "no-cache"
    for name in ("Cookie", "Accept"):
        response.vary.add(name)
    return response


def register(app: Any) -> Any:
    """Register ``cache_control`` so that it runs after every other
    after_request function of the app (Flask calls them in reverse order)."""
    flask_app = getattr(app, "_wsgi_app", app)
    flask_app.after_request_funcs.setdefault(None, []).insert(0, cache_control)
    return app
