#!/usr/bin/env bash
# make test: services, databases, pgsolr (started only when nothing answers,
# stopped again afterwards), ruff, the extension's suite, CKAN conformance.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh"
"$ROOT/scripts/setup-db.sh" "$ROOT/test.ini" ckan_test datastore_test
started=0
url_answers "http://$PGSOLR_HOST:$PGSOLR_PORT/solr/ckan/admin/ping" || started=1
"$ROOT/scripts/pgsolr-ctl.sh" start
[ "$started" = 1 ] && trap '"$ROOT/scripts/pgsolr-ctl.sh" stop' EXIT

say "ruff check"
"$VENV/bin/ruff" check "$ROOT"

say "extension test suite"
"$VENV/bin/pytest" -q "$@"

"$ROOT/scripts/conformance.sh"
