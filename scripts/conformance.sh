#!/usr/bin/env bash
# Run CKAN 2.12's own search tests against pgsolr: all of ckan/tests/lib/search/
# and ckan/tests/logic/action/test_get.py, minus the tests listed with a
# reason in conformance-skips.txt. Starts pgsolr when nothing answers.
source "$(dirname "$0")/lib.sh"
"$ROOT/scripts/services.sh"
"$ROOT/scripts/setup-db.sh" "$ROOT/conformance.ini" ckan_test datastore_test
started=0
url_answers "http://$PGSOLR_HOST:$PGSOLR_PORT/solr/ckan/admin/ping" || started=1
"$ROOT/scripts/pgsolr-ctl.sh" start
[ "$started" = 1 ] && trap '"$ROOT/scripts/pgsolr-ctl.sh" stop' EXIT

ckan_pkg=$("$VENV/bin/python" -c 'import ckan, os; print(os.path.dirname(ckan.__file__))')
# pytest matches --deselect against node ids, which are relative to the rootdir ($ROOT)
ckan_rel=$(realpath --relative-to="$ROOT" "$ckan_pkg")
deselect=()
while read -r line; do
  id=${line%%#*}; id=$(echo "$id" | xargs)
  [ -n "$id" ] && deselect+=(--deselect "$ckan_rel/$id")
done <"$ROOT/conformance-skips.txt"

say "CKAN conformance: ckan/tests/lib/search/ and ckan/tests/logic/action/test_get.py against pgsolr (skip list: $((${#deselect[@]} / 2)) entries)"
cd "$ROOT"
"$VENV/bin/pytest" -o addopts="" -o testpaths="" -p no:cacheprovider -q --ckan-ini="$ROOT/conformance.ini" \
  "$ckan_pkg/tests/lib/search" "$ckan_pkg/tests/logic/action/test_get.py" "${deselect[@]}" "$@"
