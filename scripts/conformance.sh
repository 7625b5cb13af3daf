#!/usr/bin/env bash
# Run the CKAN version's own search tests (CKAN=2.10|2.11|2.12) against the search backend of SEARCH
# (pgsolr, solr or solrcloud): all of ckan/tests/lib/search/ and
# ckan/tests/logic/action/test_get.py, minus the tests listed with a reason
# in conformance-skips.txt. Starts the backend when nothing answers. On
# pgsolr, runs them again against a second pgsolr that answers every
# match-all query from its document sets.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/services.sh"
"$ROOT/scripts/setup-db.sh" "$ROOT/conformance.ini" ckan_test datastore_test
use_version_databases ckan_test datastore_test
use_version_test_state
search_start
started=$SEARCH_STARTED
[ "$started" = 1 ] && trap 'search_ctl stop' EXIT

ckan_pkg=$("$VENV/bin/python" -c 'import ckan, os; print(os.path.dirname(ckan.__file__))')
# conformance_skips.py deselects exactly the tests of conformance-skips.txt
# (pytest's --deselect matches prefixes of node ids)
skips=$(awk '!/^ *(#|$)/ {n++} END {print n+0}' "$ROOT/conformance-skips.txt")

run_ckan_tests() {
  PYTHONPATH="$ROOT/scripts${PYTHONPATH:+:$PYTHONPATH}" \
    "$VENV/bin/pytest" -o addopts="" -o testpaths="" -p no:cacheprovider -p conformance_skips -q \
    --ckan-ini="$ROOT/conformance.ini" \
    "$ckan_pkg/tests/lib/search" "$ckan_pkg/tests/logic/action/test_get.py" "$@"
}

say "CKAN conformance: ckan/tests/lib/search/ and ckan/tests/logic/action/test_get.py against $SEARCH (skip list: $skips entries)"
cd "$ROOT"
search_env "$ROOT/conformance.ini" ckan_conformance
run_ckan_tests "$@"
[ "$SEARCH" = pgsolr ] || exit 0

# The same tests once more against a pgsolr that answers every match-all
# query from its document sets (normally only for cores where a query
# matched 1,000 documents, which CKAN's tests never reach), so that both
# ways of answering are held to CKAN's own expectations.
port=$("$VENV/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
sets_log="$RUN_DIR/pgsolr-conformance-sets.log"
"$VENV/bin/pgsolr" serve --dsn "postgresql://ckan_default@$PGHOST:$PGPORT/$PGSOLR_DB" \
  --host 127.0.0.1 --port "$port" --docsets-min-matches 1 >"$sets_log" 2>&1 </dev/null &
sets_pid=$!
trap 'kill "$sets_pid" 2>/dev/null; [ "$started" = 1 ] && search_ctl stop' EXIT
wait_for_url "http://127.0.0.1:$port/solr/ckan/admin/ping" 30 "pgsolr (document sets)" "$sets_log"
say "CKAN conformance again, every match-all query answered from pgsolr's document sets"
CKAN_SOLR_URL="http://127.0.0.1:$port/solr/ckan_conformance" run_ckan_tests "$@"
answered=$("$VENV/bin/python" - "http://127.0.0.1:$port/solr/admin/cores" <<'PY'
import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1], timeout=10))["pgsolr"]["selects answered"]["document sets"])
PY
)
say "selects answered from document sets in that run: $answered"
[ "$answered" -gt 0 ] || die "no select was answered from the document sets"
