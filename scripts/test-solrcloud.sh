#!/usr/bin/env bash
# make test-solrcloud: tests/test_solrcloud.py against the SolrCloud of
# scripts/solr-ctl.sh start --cloud (two nodes, ZooKeeper, collections of
# 2 shards x 2 replicas), started when nothing answers and stopped again.
# The test stops and restarts node 2 through the launcher's control
# channel; here it fails instead of skipping when it finds no such cloud.
export SEARCH=solrcloud
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
"$ROOT/scripts/services.sh"
test_lock
"$ROOT/scripts/setup-db.sh" "$ROOT/test.ini" ckan_test datastore_test
search_start
[ "$SEARCH_STARTED" = 1 ] && trap 'search_ctl stop' EXIT
say "SolrCloud test on $(search_url ckan_test): index, search, delete, node 2 stopped and started"
search_env "$ROOT/test.ini" ckan_test
GK_REQUIRE_SOLRCLOUD=1 "$VENV/bin/pytest" -q -m solrcloud tests/test_solrcloud.py "$@"
