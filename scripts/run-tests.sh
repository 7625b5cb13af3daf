#!/usr/bin/env bash
# make test: services, databases, the search backend of SEARCH (pgsolr, solr
# or solrcloud; started only when nothing answers, stopped again afterwards),
# ruff, mypy, the extension's suite, CKAN conformance.
#   scripts/run-tests.sh [PYTEST ARGS]   CONFORMANCE=0 skips CKAN's search tests
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh"
# Checkouts of this project on one machine share the test databases, Redis
# and the search port: one test run at a time, the others wait here. (Not
# the file of conftest.py's lock: pytest inherits this one.)
exec 9>"${TMPDIR:-/tmp}/ckanext-gelsenkirchen-run-tests.lock"
flock -n 9 || { say "another checkout is testing; waiting for it"; flock 9; }
"$ROOT/scripts/setup-db.sh" "$ROOT/test.ini" ckan_test datastore_test
search_start
[ "$SEARCH_STARTED" = 1 ] && trap 'search_ctl stop' EXIT

say "ruff check"
"$VENV/bin/ruff" check "$ROOT"

say "mypy (the packages ckanext.gelsenkirchen and pgsolr)"
(cd "$ROOT" && "$VENV/bin/mypy" -p ckanext.gelsenkirchen -p pgsolr)

say "extension test suite on $SEARCH ($(search_url ckan_test))"
search_env "$ROOT/test.ini" ckan_test
"$VENV/bin/pytest" -q "$@"

[ "${CONFORMANCE:-1}" = 0 ] || "$ROOT/scripts/conformance.sh"
