#!/usr/bin/env bash
# make stop: stop the processes make demo started (pid files in .run/demo/),
# the search backend when make demo started it (.run/demo/search.started),
# and nothing else.
source "$(dirname "$0")/lib.sh"
DEMO_DIR="$RUN_DIR/demo"
shopt -s nullglob
for pidfile in "$DEMO_DIR"/*.pid; do
  name=$(basename "$pidfile" .pid); pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    say "stopping $name (pid $pid)"
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
  [ "$name" = pgsolr ] && rm -f "$RUN_DIR/pgsolr.pid"
done
if [ -f "$DEMO_DIR/search.started" ]; then
  SEARCH=$(cat "$DEMO_DIR/search.started")
  search_ctl stop
  rm -f "$DEMO_DIR/search.started"
fi
say "demo stopped"
