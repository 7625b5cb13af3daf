# Shared helpers for the project's shell scripts. Source, don't run.
# shellcheck shell=bash
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$ROOT/.venv}"
RUN_DIR="${RUN_DIR:-$ROOT/.run}"
PGHOST="${PGHOST:-127.0.0.1}"
PGPORT="${PGPORT:-5432}"
# The superuser the scripts create databases and roles with (trust auth).
PGADMIN="${PGADMIN:-postgres}"
REDIS_HOST="${REDIS_HOST:-127.0.0.1}"
REDIS_PORT="${REDIS_PORT:-6379}"
PGSOLR_DB="${PGSOLR_DB:-gelsenkirchen_pgsolr}"
PGSOLR_HOST="${PGSOLR_HOST:-127.0.0.1}"
PGSOLR_PORT="${PGSOLR_PORT:-8983}"
# Apache Solr of scripts/solr-ctl.sh (its cloud's first node)
SOLR_PORT="${SOLR_PORT:-8983}"
export PGHOST PGPORT

mkdir -p "$RUN_DIR"

say() { printf '==> %s\n' "$*"; }
die() { printf 'ERROR: %s\n' "$*" >&2; exit 1; }

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

