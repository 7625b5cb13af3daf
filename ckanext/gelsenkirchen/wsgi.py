"""CKAN as a WSGI application for production servers (gunicorn, uWSGI).

    CKAN_INI=/etc/ckan/default/ckan.ini gunicorn \\
        -c python:ckanext.gelsenkirchen.gunicorn_conf ckanext.gelsenkirchen.wsgi:application

As CKAN's own ``wsgi.py``: the ini file's logging sections configure
logging, then ``make_app`` builds the app from the ini file. The app is
built on first access of ``application`` (or by ``create_app()``), inside
the worker process, so that no database connection is opened before the
server forks its workers.
"""
from __future__ import annotations

import os
from logging.config import fileConfig
from typing import Any

_app: Any = None


def create_app(ini: str | None = None) -> Any:
    """The CKAN app of ``ini`` (default: the environment variable CKAN_INI)."""
    from ckan.cli import load_config
    from ckan.config.middleware import make_app

    path = ini or os.environ.get("CKAN_INI")
    if not path:
        raise RuntimeError("CKAN_INI is not set: set it to the path of the CKAN ini file")
    path = os.path.abspath(os.path.expanduser(path))
    if not os.path.isfile(path):
        raise RuntimeError(f"CKAN_INI: {path} is not a file")
    fileConfig(path, disable_existing_loggers=False)
    return make_app(load_config(path))


def __getattr__(name: str) -> Any:
    # ``ckanext.gelsenkirchen.wsgi:application``, built once per process
    global _app
    if name == "application":
        if _app is None:
            _app = create_app()
        return _app
    raise AttributeError(name)
