"""Repository-wide pytest set-up.

Test sessions share the test databases of test.ini (ckan_test,
datastore_test) and CKAN's fixtures drop and recreate their tables, so two
sessions at once on one machine (two terminals, an editor running tests)
would corrupt each other's runs. A file lock serialises them.
"""
from __future__ import annotations

import fcntl
import os
import sys
import tempfile

import pytest

_LOCK_PATH = os.path.join(tempfile.gettempdir(), "ckanext-gelsenkirchen-tests.lock")
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
