#!/usr/bin/env bash
# make test: services, databases, the search backend of SEARCH (pgsolr, solr
# or solrcloud; started only when nothing answers, stopped again afterwards),
# ruff, mypy, the extension's suite (the real-process harvest tests, mark
# 'processes', in a step of their own), CKAN conformance.
#   scripts/run-tests.sh [PYTEST ARGS]   CONFORMANCE=0 skips CKAN's search tests
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh"
test_lock
"$ROOT/scripts/setup-db.sh" "$ROOT/test.ini" ckan_test datastore_test
use_version_databases ckan_test datastore_test
use_version_test_state
search_start
[ "$SEARCH_STARTED" = 1 ] && trap 'search_ctl stop' EXIT

say "ruff check"
"$VENV/bin/ruff" check "$ROOT"

# mypy checks the code against CKAN 2.12's types, with the mypy that
# requirements/dev-2.12.txt pins (the 2.10 and 2.11 stacks have none, or
# CKAN's older one, and fewer of CKAN's annotations)
if [ "$CKAN" = 2.12 ]; then
  say "mypy (the packages ckanext.gelsenkirchen and pgsolr, then bench/ and scripts/)"
  (cd "$ROOT" && "$VENV/bin/mypy" -p ckanext.gelsenkirchen -p pgsolr \
     && "$VENV/bin/mypy" bench scripts/*.py)
fi

say "extension test suite on CKAN $CKAN and $SEARCH ($(search_url ckan_test))"
search_env "$ROOT/test.ini" ckan_test
if [ "$#" -gt 0 ]; then
    "$VENV/bin/pytest" -q "$@"
else
    # the slowest tests are listed: where make test's minutes go (README, CI)
    "$VENV/bin/pytest" -q --durations=15 -m "not processes"
    # slower: consumers as subprocesses, private Redis/pgsolr, injected faults
    say "harvest consumers as real processes: survival, source lock, faults, 20 sources"
    "$VENV/bin/pytest" -q -m processes
fi

[ "${CONFORMANCE:-1}" = 0 ] || "$ROOT/scripts/conformance.sh"
