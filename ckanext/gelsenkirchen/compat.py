"""The CKAN versions this extension supports, and what differs between them.

One code base runs on CKAN 2.10, 2.11 and 2.12. Where the versions differ the
code detects the feature (never the version number) or uses what all three
have; each difference is listed here once, naming the CKAN change:

- Web assets: CKAN 2.10's ``create_library`` reads only ``webassets.yml``
  (2.11 also reads ``webassets.yaml``), so ``assets/webassets.yml``.
- The search page's pager: CKAN 2.12 moved it from the ``page_pagination``
  block of ``package/search.html``, ``organization/read.html`` and
  ``group/read.html`` into ``package/snippets/search_results.html``; the
  theme overrides the block in all four (a block a version lacks is never
  drawn), and tests/test_views.py runs on every version.
- Activity: CKAN 2.11 moved the activity tables from core's migrations into
  the ``activity`` plugin's; tests/conftest.py migrates every plugin that
  has a revision (``ckan.cli.db.current_revision``), whatever the version.
- Config declarations: CKAN 2.10 and 2.11 know the option types base,
  bool, int, list and dynamic only (``float`` came in 2.12):
  config_declaration.yaml declares float options without a type and the
  code reads them as numbers itself.
- SQLAlchemy: CKAN 2.10 and 2.11 pin 1.4, whose ``Connection`` has no
  ``rollback()`` outside ``begin()`` (2.12 pins 2.0): doctor/services.py ends
  transactions with ``begin()`` or by closing the connection.
- Redis: redis-py 4.6 (CKAN 2.10), 5.0 (2.11) and 8.0 (2.12); only 8.0
  gives a connection a 5 s read timeout by default. harvest_consumers.py
  sets its timeouts explicitly, which all three accept.
- Sessions: CKAN 2.10 keeps the session in a beaker cookie, 2.11 and 2.12
  in Flask-Session: test.ini sets both secrets. CKAN 2.10's
  ``BeakerSessionInterface.save_session`` saves the session on every
  response, so every visitor gets a cookie and http_cache.py marks no page
  ``public`` there: a front proxy caches pages on 2.11 and 2.12 only.
- Packaging: CKAN 2.10 and 2.11 pin packaging 24.1, too old for the
  setuptools (>= 77) that reads pyproject.toml's licence expression:
  tests/test_wheel.py builds the wheel in pip's isolated build there.
- DataStore: CKAN 2.10 and 2.11 answer an internal ``datastore_search``
  with the records as a ``LazyJSONObject`` (it iterates like the list but
  equals no list); 2.12 decodes them unless the call comes from the API.
  :func:`datastore_records` gives a list on all three.
- Test fixtures: CKAN 2.12's ``with_plugins`` mark takes plugin names,
  2.10's and 2.11's ignore them: tests/conftest.py loads extra plugins in a
  fixture of its own.
- Search connections: CKAN 2.10 and 2.11 read ``solr_url`` once, when the
  environment loads (``ckan.lib.search.common.SolrSettings``); 2.12 reads
  the configuration on every connection. :func:`search_url_of_config`
  lets the doctor check the ``solr_url`` it names on all three.
- Search schema: CKAN 2.10 and 2.11 refuse a Solr (or pgsolr) whose
  ``schema.xml`` is named ``ckan-2.12`` (``SUPPORTED_SCHEMA_VERSIONS``);
  pgsolr serves the schema of the CKAN it is installed with
  (:func:`solr_schema_name` names it).
- Search index of harvest sources: CKAN 2.12 indexes, next to a dataset,
  the validated copy that ``package_show`` then serves
  (``with_custom_schema``); ckanext-harvest 1.6.3's
  ``harvest_source_reindex`` (after every finished job) passes its
  unvalidated dict there, so the source came back without ``source_type``
  and ``ckan harvester run-test`` failed with KeyError. logic/action.py
  chains the action and indexes the source again with CKAN's ``rebuild``
  (on 2.10 and 2.11 the same call; harmless).
"""
from __future__ import annotations

import contextlib
import dataclasses
import re
from collections.abc import Iterator
from typing import Any

import ckan.plugins.toolkit as tk

# CKAN minor version -> the release `make test CKAN=<minor>` proves in CI
TESTED_RELEASES = {"2.10": "2.10.11", "2.11": "2.11.6", "2.12": "2.12.0"}


class UnsupportedCkanVersion(RuntimeError):
    """The installed CKAN is not one this extension supports."""


@dataclasses.dataclass(frozen=True)
class CkanSupport:
    """How the installed CKAN release relates to the supported ones."""

    version: str
    minor: str
    supported: bool
    tested: bool  # exactly the release CI runs

    def describe(self) -> str:
        tested = ", ".join(TESTED_RELEASES.values())
        if not self.supported:
            return (f"CKAN {self.version} is not supported by ckanext-gelsenkirchen: it "
                    f"supports CKAN {_supported_minors()} (tested with {tested})")
        if self.tested:
            return f"CKAN {self.version}: supported and tested"
        return (f"CKAN {self.version}: supported (CKAN {self.minor}; tested with "
                f"{TESTED_RELEASES[self.minor]})")


def _supported_minors() -> str:
    minors = list(TESTED_RELEASES)
    return ", ".join(minors[:-1]) + " and " + minors[-1]


def installed_ckan_version() -> str:
    import ckan

    return str(ckan.__version__)


def minor_version(version: str) -> str:
    """``2.10.11`` -> ``2.10``; ``2.12.0b1`` -> ``2.12``; ``""`` when unreadable."""
    match = re.match(r"(\d+)\.(\d+)", version)
    return f"{match.group(1)}.{match.group(2)}" if match else ""


def ckan_support(version: str | None = None) -> CkanSupport:
    """Support of ``version`` (default: the installed CKAN)."""
    version = installed_ckan_version() if version is None else version
    minor = minor_version(version)
    supported = minor in TESTED_RELEASES
    return CkanSupport(version, minor, supported,
                       supported and TESTED_RELEASES[minor] == version)


def require_supported_ckan(version: str | None = None) -> CkanSupport:
    """Stop plugin loading with one clear message on an unsupported CKAN,
    before anything fails deeper down (``toolkit.blanket`` is new in 2.10,
    templates use blocks of 2.10 to 2.12)."""
    support = ckan_support(version)
    if not support.supported:
        raise UnsupportedCkanVersion(
            support.describe() + ". Install one of those CKAN releases, or a release "
            "of ckanext-gelsenkirchen made for your CKAN.")
    return support


def datastore_records(result: dict[str, Any]) -> list[dict[str, Any]]:
    """The records of a ``datastore_search`` result as a list of dicts."""
    return list(result.get("records") or [])


def solr_schema_name(version: str | None = None) -> str:
    """The name of the installed CKAN's search schema (``ckan-2.10``), which
    CKAN checks against the search service when it starts."""
    return "ckan-" + minor_version(installed_ckan_version() if version is None else version)


@contextlib.contextmanager
def search_url_of_config() -> Iterator[None]:
    """CKAN's search connections (``make_connection``, the schema check) use
    the current configuration's ``solr_url`` inside the block, and whatever
    they used before after it."""
    from ckan.lib.search import common

    settings = getattr(common, "SolrSettings", None)
    if settings is None:  # CKAN 2.12: read from the configuration each time
        yield
        return
    names = ("_is_initialised", "_url", "_user", "_password")
    before = {name: getattr(settings, name) for name in names}
    settings.init(tk.config.get("solr_url"), tk.config.get("solr_user"),
                  tk.config.get("solr_password"))
    try:
        yield
    finally:
        for name, value in before.items():
            setattr(settings, name, value)


def beaker_sessions() -> bool:
    """CKAN 2.10: sessions in beaker, saved (and their cookie sent) on every
    response, so no page can be shared by a front proxy (http_cache.py)."""
    from ckan.config.middleware import flask_app
    return hasattr(flask_app, "BeakerSessionInterface")
