"""Repository-wide pytest set-up.

Test sessions of one CKAN version share its test databases (test.ini's
ckan_test and datastore_test; CKAN 2.10 and 2.11 have their own, see
scripts/lib.sh) and CKAN's fixtures drop and recreate their tables, so two
sessions at once on one machine (two terminals, an editor running tests)
would corrupt each other's runs. A file lock per CKAN version serialises
them; sessions of different versions run side by side (.ci/run does).
"""
from __future__ import annotations

import fcntl
import os
import sys
import tempfile

import pytest

from ckanext.gelsenkirchen import compat

_CKAN_MINOR = compat.minor_version(compat.installed_ckan_version())
# bench/support.py takes the same lock (its harvests use the 2.12 databases)
_LOCK_PATH = os.path.join(tempfile.gettempdir(),
                          f"ckanext-gelsenkirchen-tests-ckan{_CKAN_MINOR}.lock")
_lock_file = None


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    global _lock_file
    _lock_file = open(_LOCK_PATH, "w")  # noqa: SIM115 - held for the whole session
    try:
        fcntl.flock(_lock_file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        print(f"waiting for another test session to finish (lock {_LOCK_PATH})",
              file=sys.stderr, flush=True)
        fcntl.flock(_lock_file, fcntl.LOCK_EX)
