#!/usr/bin/env bash
# The upgrade test: a portal on CKAN 2.10 with harvested data, its databases
# upgraded to 2.11 and then 2.12 with each version's virtualenv, the way an
# operator upgrades: stop the portal, install the new CKAN, `ckan db
# upgrade`, plugin migrations (`ckan db pending-migrations --apply`),
# DataStore permissions (scripts/setup-db.sh), `ckan search-index rebuild`
# (scripts/demo.sh does all of it, then starts the portal). After each
# upgrade the harvested datasets, their DataStore rows and pages must be as
# before (scripts/upgrade_check.py), the doctor must pass its database,
# DataStore and search checks; on 2.12 the next scheduled harvest must run.
# Any difference stops the test with status 1.
#
# Its own databases (*_upgrade), pgsolr port (8920), portal and feed ports
# (5020, 8775), Redis database 3 and run directory (.run/upgrade): it shares
# nothing with make test or make demo. Everything it starts is stopped again.
export DB_SUFFIX=_upgrade
source "$(dirname "$0")/lib.sh"
export PGSOLR_PORT=${UPGRADE_PGSOLR_PORT:-8920} PORT=${UPGRADE_PORT:-5020}
export FEEDS_PORT=${UPGRADE_FEEDS_PORT:-8775} RUN_DIR="$ROOT/.run/upgrade" SEARCH=pgsolr
export CKAN_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/3"
# this script's own ckan commands (doctor, tokens) on the *_upgrade databases
use_version_databases ckan_default datastore_default
state="$RUN_DIR/before-upgrade.json"
portal="http://127.0.0.1:$PORT"
running=""

venv_of() { if [ "$1" = 2.12 ]; then echo "$ROOT/.venv"; else echo "$ROOT/.venv-ckan$1"; fi; }
stop_portal() { [ -z "$running" ] || CKAN=$running "$ROOT/scripts/stop.sh" >/dev/null; running=""; }
trap stop_portal EXIT

timed() {  # timed NAME COMMAND...: run, print its wall time
  local name=$1 start=$SECONDS; shift
  say "upgrade test: $name"
  "$@"
  say "upgrade test: $name: $((SECONDS - start)) s"
}

# start_portal VERSION SEED: scripts/demo.sh with VERSION's virtualenv:
# migrations, search-index rebuild, portal and harvest consumers
start_portal() {
  local log="$RUN_DIR/demo-ckan$1.log"
  running=$1
  CKAN=$1 DEMO_SEED=$2 "$ROOT/scripts/demo.sh" >"$log" 2>&1 \
    || { tail -n 40 "$log" >&2; die "the portal did not start on CKAN $1 (log: $log)"; }
  grep -E "^==> (harvested|harvest of)" "$log" || true
  local version
  version=$("$(venv_of "$1")/bin/python" -c 'import json, sys, urllib.request
print(json.load(urllib.request.urlopen(sys.argv[1], timeout=30))["result"]["ckan_version"])' \
    "$portal/api/3/action/status_show")
  say "the portal runs CKAN $version"
  [ "${version%.*}" = "$1" ] || die "expected CKAN $1, the portal runs $version"
}

check() {  # check VERSION STEP
  "$(venv_of "$1")/bin/python" "$ROOT/scripts/upgrade_check.py" "$2" "$state" \
    --ini "$RUN_DIR/demo.ini" --portal "$portal"
}

doctor() {  # the doctor of VERSION: database (no pending migrations), DataStore, search
  local out check
  out=$("$(venv_of "$1")/bin/ckan" -c "$RUN_DIR/demo.ini" gelsenkirchen doctor 2>/dev/null || true)
  for check in ckan database datastore search "search schema"; do
    grep -q "^\[ OK \] $check: " <<<"$out" || { echo "$out" >&2; die "doctor on CKAN $1: $check is not OK"; }
  done
  grep -E "^\[ OK \] (ckan|database):" <<<"$out"
}

fresh_start() {
  CKAN=2.10 "$ROOT/scripts/stop.sh" >/dev/null 2>&1 || true
  "$ROOT/scripts/services.sh"
  for db in "ckan_default$DB_SUFFIX" "datastore_default$DB_SUFFIX" "gelsenkirchen_pgsolr$DB_SUFFIX"; do
    psql_admin -c "DROP DATABASE IF EXISTS $db WITH (FORCE)"
  done
  rm -rf "$RUN_DIR"; mkdir -p "$RUN_DIR"
  "$VENV/bin/python" -c 'import redis, sys; redis.Redis.from_url(sys.argv[1]).flushdb()' "$CKAN_REDIS_URL"
}

total=$SECONDS
for v in 2.10 2.11 2.12; do
  [ -x "$(venv_of $v)/bin/ckan" ] || die "$(venv_of $v) is missing: make install CKAN=$v"
done
timed "fresh databases" fresh_start
timed "portal on CKAN 2.10, harvesting the demo feeds" start_portal 2.10 1
timed "record the harvested data" check 2.10 record
stop_portal
for v in 2.11 2.12; do
  timed "upgrade to CKAN $v (db upgrade, plugin migrations, search-index rebuild)" start_portal "$v" 0
  timed "doctor on CKAN $v" doctor "$v"
  timed "harvested data on CKAN $v" check "$v" verify
  if [ "$v" = 2.12 ]; then
    # a day passes: the scheduled sources are due again
    psql_admin -d "ckan_default$DB_SUFFIX" -c \
      "UPDATE harvest_source SET next_run = now() - interval '1 day' WHERE frequency <> 'MANUAL'"
    timed "next scheduled harvest on CKAN $v" check "$v" harvest
  fi
  stop_portal
done
say "upgrade test passed: 2.10 -> 2.11 -> 2.12 in $((SECONDS - total)) s"
