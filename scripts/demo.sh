#!/usr/bin/env bash
# make demo: a local Gelsenkirchen portal with everything it needs, started in
# the background. Idempotent: a second run reuses the databases, the config,
# the sysadmin and the organization, and restarts nothing that still runs.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
PORT="${PORT:-5000}"
FEEDS_PORT="${FEEDS_PORT:-8765}"
DEMO_DIR="$RUN_DIR/demo"
ini="$RUN_DIR/demo.ini"
mkdir -p "$DEMO_DIR" "$RUN_DIR/demo-storage"
ckan() { "$VENV/bin/ckan" -c "$ini" "$@"; }
# PROD=1 (make serve): the production servers (scripts/serve.sh), not the simple ones
source "$ROOT/scripts/serve.sh"

"$ROOT/scripts/services.sh"

if [ ! -f "$ini" ]; then
  say "generating $ini"
  "$VENV/bin/ckan" generate config "$ini" >/dev/null
fi
# Re-merging keeps the file in step with config/demo-options.ini.
"$VENV/bin/ckan" config-tool "$ini" -f "$ROOT/config/demo-options.ini" >/dev/null
"$VENV/bin/ckan" config-tool "$ini" "ckan.site_url=http://127.0.0.1:$PORT" \
  "ckan.storage_path=$RUN_DIR/demo-storage" "solr_url=$(search_url ckan)" >/dev/null

"$ROOT/scripts/setup-db.sh" "$ini" ckan_default datastore_default
use_version_databases ckan_default datastore_default
# The search backend of SEARCH (pgsolr, solr or solrcloud); make stop stops
# it only when this demo started it.
search_start
[ "$SEARCH_STARTED" = 1 ] && echo "$SEARCH" >"$DEMO_DIR/search.started"
# The index follows the database (also when the database was made anew).
ckan search-index rebuild >>"$DEMO_DIR/setup.log" 2>&1 || die "ckan search-index rebuild failed (see $DEMO_DIR/setup.log)"

# start_bg NAME COMMAND...: run COMMAND in the background unless NAME runs.
start_bg() {
  local name=$1; shift
  local pidfile="$DEMO_DIR/$name.pid"
  if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
    say "$name already running (pid $(cat "$pidfile"))"; return
  fi
  nohup "$@" >>"$DEMO_DIR/$name.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  say "started $name (pid $!, log $DEMO_DIR/$name.log)"
}

start_bg feeds "$VENV/bin/python" -m http.server "$FEEDS_PORT" --bind 127.0.0.1 --directory "$ROOT/demo/feeds"
start_bg gather-consumer "$VENV/bin/ckan" -c "$ini" gelsenkirchen harvest-consumer gather
start_bg fetch-consumer "$VENV/bin/ckan" -c "$ini" gelsenkirchen harvest-consumer fetch
if [ -n "${PROD:-}" ]; then
  start_bg web "${PROD_WEB[@]}"
else
  start_bg web "$VENV/bin/ckan" -c "$ini" run --host 127.0.0.1 --port "$PORT" --disable-reloader
fi
wait_for_url "http://127.0.0.1:$PORT/api/3/action/status_show" 120 "the portal" "$DEMO_DIR/web.log"

password_file="$DEMO_DIR/admin-password"
new_password() { "$VENV/bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))' >"$password_file"; }
if ! ckan user show admin 2>>"$DEMO_DIR/setup.log" | grep -q "name=admin"; then
  new_password
  ckan user add admin email=admin@example.org "password=$(cat "$password_file")" >>"$DEMO_DIR/setup.log" 2>&1
  ckan sysadmin add admin >>"$DEMO_DIR/setup.log" 2>&1
  say "created sysadmin admin"
elif [ ! -f "$password_file" ]; then
  # the account exists (an earlier demo on these databases): give it a known password
  new_password
  ckan user setpass admin -p "$(cat "$password_file")" >>"$DEMO_DIR/setup.log" 2>&1
  say "set a new password for the existing sysadmin admin"
fi
# DEMO_SEED=0 (scripts/test-upgrade.sh): the portal as its databases are
[ "${DEMO_SEED:-1}" = 0 ] || "$VENV/bin/python" "$ROOT/scripts/demo_seed.py" --ini "$ini" --portal "http://127.0.0.1:$PORT" \
  --feeds "http://127.0.0.1:$FEEDS_PORT"

cat <<TXT

The Gelsenkirchen demo portal runs at http://127.0.0.1:$PORT
  login:     admin / $(cat "$password_file")
  started:   $(cd "$DEMO_DIR" && ls ./*.pid | sed 's|./||; s|.pid||' | xargs)
  search:    $SEARCH at $(search_url ckan)
  logs:      $DEMO_DIR/*.log, $RUN_DIR/pgsolr.log or $RUN_DIR/solr/*.log
  config:    $ini
  stop with: make stop
TXT
