# Shared helpers for the project's shell scripts. Source, don't run.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
say() { printf '==> %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

# The CKAN version (CKAN=2.10|2.11|2.12, default 2.12): its pinned stack in
# requirements/, its own virtualenv, its own databases, pgsolr database and
# pgsolr port, so that versions never share state. 2.12 keeps the plain names.
# pgsolr serves the schema.xml of the CKAN in its virtualenv, and CKAN 2.10
# and 2.11 refuse to start on a search service with 2.12's schema
# ("SOLR schema version not supported"), hence a port per version.
CKAN="${CKAN:-2.12}"
case "$CKAN" in
  2.10|2.11|2.12) ;;
  *) die "CKAN=$CKAN is not supported: use CKAN=2.10, 2.11 or 2.12" ;;
esac
if [ "$CKAN" = 2.12 ]; then
  VENV="${VENV:-$ROOT/.venv}"
  DB_SUFFIX="${DB_SUFFIX-}"
  VERSION_PGSOLR_PORT=8983
else
  VENV="${VENV:-$ROOT/.venv-ckan$CKAN}"
  DB_SUFFIX="${DB_SUFFIX-_ckan${CKAN/./_}}"
  VERSION_PGSOLR_PORT=$((8900 + ${CKAN#2.}))   # 8910, 8911
fi
# (scripts/test-upgrade.sh sets DB_SUFFIX: one set of databases that every
# version in turn migrates)
export CKAN

# use_version_databases CKAN_DB DATASTORE_DB: point CKAN at this version's
# databases (the ini files name 2.12's; CKAN reads CKAN_SQLALCHEMY_URL and
# its siblings over the ini).
use_version_databases() {
  [ -n "$DB_SUFFIX" ] || return 0
  export CKAN_SQLALCHEMY_URL="postgresql://ckan_default:pass@$PGHOST/$1$DB_SUFFIX"
  export CKAN_DATASTORE_WRITE_URL="postgresql://ckan_default:pass@$PGHOST/$2$DB_SUFFIX"
  export CKAN_DATASTORE_READ_URL="postgresql://datastore_default:pass@$PGHOST/$2$DB_SUFFIX"
}
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
# The superuser the scripts create databases and roles with (trust auth).
PGADMIN="${PGADMIN:-postgres}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"
PGSOLR_DB="${PGSOLR_DB:-gelsenkirchen_pgsolr$DB_SUFFIX}"
# the suite's pgsolr database (tests/harvest_processes start a second pgsolr on it)
export PGSOLR_SUITE_DSN="postgresql://ckan_default@$PGHOST:$PGPORT/$PGSOLR_DB"
PGSOLR_HOST="${PGSOLR_HOST:-127.0.0.1}"
PGSOLR_PORT="${PGSOLR_PORT:-$VERSION_PGSOLR_PORT}"
# Apache Solr of scripts/solr-ctl.sh (its cloud's first node)
SOLR_PORT="${SOLR_PORT:-8983}"
export PGHOST PGPORT

mkdir -p "$RUN_DIR"

# apt_install REASON PACKAGE...: install Debian packages as root (apt-get update
# once per run of a script), or stop with the command to run when not root.
apt_install() {
  local reason=$1; shift
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    die "$reason is missing. Install it as root with: apt-get update && apt-get install -y $*"
  fi
  local log="$RUN_DIR/apt-install.log"
  say "installing $* from Debian's packages for $reason (log: $log)"
  if [ -z "${APT_UPDATED:-}" ]; then
    apt-get update >>"$log" 2>&1 || { tail -n 20 "$log" >&2; die "apt-get update failed (log: $log)"; }
    APT_UPDATED=1
  fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "$@" >>"$log" 2>&1 \
    || { tail -n 20 "$log" >&2; die "apt-get install -y $* failed (log: $log)"; }
}

psql_admin() { psql -X -q -v ON_ERROR_STOP=1 -U "$PGADMIN" -d postgres "$@"; }

# url_answers URL: true when an HTTP GET succeeds within 2 s.
url_answers() {
  "$VENV/bin/python" - "$1" <<'PY' >/dev/null 2>&1
import sys, urllib.request
urllib.request.urlopen(sys.argv[1], timeout=2).read()
PY
}

# wait_for_url URL SECONDS NAME [LOGFILE [PID]]: wait until URL answers; stop
# with the log's tail after SECONDS, or at once when process PID has ended.
wait_for_url() {
  local url=$1 seconds=$2 name=$3 log=${4:-} pid=${5:-}
  local deadline=$((SECONDS + seconds))
  while [ "$SECONDS" -lt "$deadline" ]; do
    url_answers "$url" && return 0
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
      [ -n "$log" ] && [ -f "$log" ] && tail -n 30 "$log" >&2
      die "$name (pid $pid) ended before it answered at $url${log:+ (log: $log)}"
    fi
    sleep 0.5
  done
  [ -n "$log" ] && [ -f "$log" ] && tail -n 30 "$log" >&2
  die "$name did not answer at $url within ${seconds}s${log:+ (log: $log)}"
}

# The search backend of make test, make demo and make conformance:
# SEARCH=pgsolr (default), solr (standalone Apache Solr) or solrcloud
# (two Solr nodes and ZooKeeper), all run by scripts/*-ctl.sh on this machine.
SEARCH="${SEARCH:-pgsolr}"
case "$SEARCH" in
  pgsolr) SEARCH_HOST=$PGSOLR_HOST; SEARCH_PORT=$PGSOLR_PORT ;;
  solr|solrcloud) SEARCH_HOST=127.0.0.1; SEARCH_PORT=$SOLR_PORT ;;
  *) die "SEARCH=$SEARCH: use SEARCH=pgsolr (default), SEARCH=solr or SEARCH=solrcloud" ;;
esac

# search_url CORE: CKAN's solr_url for core (or collection) CORE of $SEARCH
search_url() { echo "http://$SEARCH_HOST:$SEARCH_PORT/solr/$1"; }

# search_ctl start|stop|status: the control script of $SEARCH
search_ctl() {
  case "$SEARCH" in
    pgsolr) "$ROOT/scripts/pgsolr-ctl.sh" "$@" 9>&- ;;
    solr) "$ROOT/scripts/solr-ctl.sh" "$@" 9>&- ;;
    solrcloud) "$ROOT/scripts/solr-ctl.sh" "$@" --cloud 9>&- ;;
  esac
}

# search_env INI CORE: point CKAN (and the processes the tests start) at
# CORE of $SEARCH: exports CKAN_SOLR_URL when that differs from INI's
# solr_url. Only then: CKAN's environment variable also overrides
# solr_url set by a test (pytest.mark.ckan_config).
search_env() {
  local url ini_url
  url=$(search_url "$2")
  ini_url=$(sed -n 's/^solr_url *= *//p' "$1")
  unset CKAN_SOLR_URL
  if [ "$url" != "$ini_url" ]; then
    export CKAN_SOLR_URL=$url
    say "CKAN_SOLR_URL=$url (in place of $(basename "$1")'s $ini_url)"
  fi
}

# use_version_test_state: the suite's Redis database, storage directory and
# pgsolr test database (tests/pgsolr/conftest.py; test_service.py drops and
# re-adds its float columns) of this CKAN version (2.12 keeps test.ini's Redis
# database 1 and pgsolr_test; the upgrade test has Redis 3), so that suites of
# different versions can run at the same time (.ci/run runs the 2.11 and 2.10
# suites beside 2.12's).
use_version_test_state() {
  [ -n "$DB_SUFFIX" ] || return 0
  export CKAN_REDIS_URL="redis://$REDIS_HOST:$REDIS_PORT/$((${CKAN#2.} - 6))"  # 2.10: 4, 2.11: 5
  export CKAN_STORAGE_PATH="$RUN_DIR/test-storage$DB_SUFFIX"
  export PGSOLR_TEST_DSN="postgresql://postgres@$PGHOST:$PGPORT/pgsolr_test$DB_SUFFIX"
}

# test_lock: checkouts of this project on one machine share the test
# databases, Redis databases and search ports of a CKAN version: one test run
# per version at a time, the others wait here (versions have their own, see
# use_version_databases and use_version_test_state). The lock is file
# descriptor 9, held until the script ends (search_ctl closes it for the
# servers it starts).
test_lock() {
  exec 9>"${TMPDIR:-/tmp}/ckanext-gelsenkirchen-run-tests-ckan$CKAN.lock"
  flock -n 9 || { say "another checkout is testing on CKAN $CKAN; waiting for it"; flock 9; }
}

# search_start: start $SEARCH unless it answers already; SEARCH_STARTED=1
# when this call started it (so the caller stops it again).
search_start() {
  SEARCH_STARTED=0
  url_answers "$(search_url ckan)/admin/ping" || SEARCH_STARTED=1
  search_ctl start
}
