"""What the portal's pages derive from harvested data, computed once per
version of that data instead of on every view.

The dataset pages of ``wifi-hotspots`` and ``broadband-coverage`` read up to
``map.max_rows`` DataStore rows and turn them into a table, map markers,
figures and an SVG chart, rendered as one HTML block; the home page runs
two searches for its key figures, newest datasets and themes. All of that changes only when a
harvest (or an editor) changes a dataset, so it is kept in this process's
memory under a key and a *version*:

- dataset pages: the key is (page, dataset id, language, page argument) and
  the version the dataset's ``metadata_modified``. Every harvest that
  publishes ends with ``package_update`` (a new ``metadata_modified``), and
  CKAN 2.12 also patches the resource (so the dataset) after DataStore
  writes through its API, so a changed dataset is recomputed on its next
  view: no data older than the dataset shown.
- home page: the version is the number of public active datasets and their
  newest ``metadata_modified`` (one indexed query per view); entries also
  expire after ``ckanext.gelsenkirchen.home.cache_seconds`` for what the
  version does not see (an organization renamed).

An entry whose version changed is replaced in place; at most
``ckanext.gelsenkirchen.page_cache.max_entries`` entries are kept (least
recently used dropped first), so memory stays bounded. Each web process
has its own cache.

Access control is CKAN's: the dataset helpers are only called by the
dataset page's template, after CKAN's ``package_show`` authorization of the
current user, and what is cached is derived from that dataset alone (no
user-dependent content), so a user who may not see a dataset never reaches
its entry. Pages that show a private dataset are marked (``mark_private``)
so that they are never sent with public cache headers (http_cache.py).
"""
from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

import ckan.plugins.toolkit as tk

MAX_ENTRIES_OPTION = "ckanext.gelsenkirchen.page_cache.max_entries"


class VersionedCache:
    """A bounded LRU map of key -> (version, expiry, value), thread-safe.

    A hit needs the same version (and an unexpired entry); otherwise the
    value is computed (outside the lock: a slow computation does not block
    other pages) and replaces the entry.
    """

    def __init__(self, max_entries: int = 500) -> None:
        self.max_entries = max_entries
        self._entries: OrderedDict[Hashable, tuple[Hashable, float, Any]] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable, version: Hashable, compute: Callable[[], Any],
            ttl: float | None = None) -> Any:
        if self.max_entries <= 0:
            return compute()
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(key)
            if entry is not None and entry[0] == version and entry[1] > now:
                self._entries.move_to_end(key)
                self.hits += 1
                return entry[2]
            self.misses += 1
        value = compute()
        expires = now + ttl if ttl is not None else float("inf")
        with self._lock:
            self._entries[key] = (version, expires, value)
            self._entries.move_to_end(key)
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return value

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()
            self.hits = self.misses = 0

    def __len__(self) -> int:
        return len(self._entries)


cache = VersionedCache()


def _configured() -> VersionedCache:
    cache.max_entries = tk.asint(tk.config.get(MAX_ENTRIES_OPTION, 500))
    return cache


def dataset_version(pkg: dict) -> Hashable:
    """The version of everything derived from one dataset."""
    return (pkg.get("metadata_modified"), len(pkg.get("resources") or []))


def for_dataset(page: str, pkg: dict, compute: Callable[[], Any], *args: Hashable) -> Any:
    """``compute()`` for dataset ``pkg`` (already authorized by the page),
    once per version of the dataset, language and ``args``."""
    if pkg.get("private"):
        mark_private()
    if not pkg.get("id") or not pkg.get("metadata_modified"):
        return compute()
    key = (page, pkg["id"], tk.h.lang(), *args)
    return _configured().get(key, dataset_version(pkg), compute)


def portal_version() -> Hashable:
    """Number and newest modification of the public active datasets: changes
    with every dataset published, updated, deleted or made private."""
    from ckan import model
    from sqlalchemy import func
    row = (model.Session.query(func.count(model.Package.id),
                               func.max(model.Package.metadata_modified))
           .filter(model.Package.state == "active", model.Package.private.is_(False))
           .one())
    return (row[0], row[1].isoformat() if row[1] else None)


def for_portal(name: str, compute: Callable[[], Any], ttl: float) -> Any:
    """``compute()`` of public portal-wide content (home page), once per
    version of the public datasets and at most ``ttl`` seconds (0: never
    cached)."""
    if ttl <= 0:
        return compute()
    return _configured().get(("portal", name, tk.h.lang()), portal_version(), compute, ttl)


def mark_private() -> None:
    """The current response shows a private dataset: never publicly cacheable."""
    try:
        tk.g.gelsenkirchen_private_data = True
    except (RuntimeError, AttributeError):  # outside a request
        pass
