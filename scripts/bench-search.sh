#!/usr/bin/env bash
# make bench-search [SEARCH=pgsolr|solr|both] [BENCH_ARGS=...]: bench/search.py
# on pgsolr (an in-process server, the default), on Apache Solr standalone
# (scripts/solr-ctl.sh; started when nothing answers, stopped again) or on
# both: the same documents and queries, then one table with the ratios.
bench=${SEARCH:-pgsolr}
case "$bench" in
  pgsolr|both) SEARCH=solr ;;  # lib.sh's backend of the Solr side
  solr) ;;
  *) printf 'ERROR: SEARCH=%s: make bench-search runs on pgsolr, solr or both\n' "$bench" >&2; exit 1 ;;
esac
export SEARCH
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh"
# no test run beside the benchmark: it would share the cores and port 8983
test_lock
"$ROOT/scripts/setup-db.sh" "$ROOT/test.ini" ckan_test datastore_test >/dev/null
if [ "$bench" != pgsolr ]; then
  search_start
  [ "$SEARCH_STARTED" = 1 ] && trap 'search_ctl stop' EXIT
fi
"$VENV/bin/python" -m bench.search --dsn "postgresql://ckan_default@$PGHOST/$PGSOLR_DB" \
  --backend "$bench" --solr "http://127.0.0.1:$SOLR_PORT/solr" "$@"
