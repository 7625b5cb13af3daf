"""Health checks behind ``ckan gelsenkirchen doctor``.

Every check is a small function that reads the CKAN configuration, looks at
one part of the installation and returns a :class:`CheckResult`; it never
raises and never changes anything (the DataStore probe table lives in a
transaction that is rolled back). The CLI in ``cli.py`` only prints the
results; tests call the functions directly. The checks live by area:
``services`` (CKAN version, database, DataStore, Redis), ``search``,
``plugins`` (plugin order) and ``harvest``; ``common`` holds the result type
and the helpers they share; this module runs them all.

What each check means and how to fix its failures: docs/doctor.md.
"""
from __future__ import annotations

from collections.abc import Callable

from ckanext.gelsenkirchen.doctor.common import CheckResult, _short
from ckanext.gelsenkirchen.doctor.harvest import (
    check_harvest_consumers,
    check_harvest_runs,
    check_stuck_harvest_jobs,
)
from ckanext.gelsenkirchen.doctor.plugins import check_plugin_order
from ckanext.gelsenkirchen.doctor.search import check_search, check_search_schema
from ckanext.gelsenkirchen.doctor.services import (
    check_ckan_version,
    check_database,
    check_datastore,
    check_redis,
)

CHECKS: list[tuple[str, Callable[[], CheckResult]]] = [
    ("ckan", check_ckan_version),
    ("database", check_database),
    ("datastore", check_datastore),
    ("redis", check_redis),
    ("search", check_search),
    ("search schema", check_search_schema),
    ("plugin order", check_plugin_order),
    ("harvest consumers", check_harvest_consumers),
    ("harvest jobs", check_stuck_harvest_jobs),
    # the last run of each source: this extension's sources in words
    # (harvesters/runs.py, with the run history), other harvesters' by errors
    ("harvest runs", check_harvest_runs),
]


def run_all() -> list[CheckResult]:
    """Run every check; an unexpected error becomes a failed result, not a traceback."""
    results = []
    for name, check in CHECKS:
        try:
            results.append(check())
        except Exception as exc:  # a bug in a check must not hide the other checks
            results.append(CheckResult(name, False, f"check crashed: {type(exc).__name__}: "
                                       f"{_short(exc)}", "report this as a bug"))
    return results
