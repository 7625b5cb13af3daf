#!/usr/bin/env bash
# Start or stop the project's pgsolr search service in the background.
#   scripts/pgsolr-ctl.sh start|stop|status
# "start" does nothing when something already answers on the port, so a
# pgsolr (or Solr) that someone else runs is used, never replaced; "stop"
# stops only the process this script started (pid file in .run/).
source "$(dirname "$0")/lib.sh"
pidfile="$RUN_DIR/pgsolr$DB_SUFFIX.pid"
log="$RUN_DIR/pgsolr$DB_SUFFIX.log"
ping="http://$PGSOLR_HOST:$PGSOLR_PORT/solr/ckan/admin/ping"
dsn="postgresql://ckan_default@$PGHOST:$PGPORT/$PGSOLR_DB"

ours_running() { [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; }

case "${1:-}" in
  start)
    if url_answers "$ping"; then
      say "a search service already answers on $PGSOLR_HOST:$PGSOLR_PORT: using it"
      ours_running || rm -f "$pidfile"
      exit 0
    fi
    say "starting pgsolr on $PGSOLR_HOST:$PGSOLR_PORT (log: $log)"
    # PGSOLR_SERVE_ARGS: more options, e.g. --server gunicorn (make serve)
    # shellcheck disable=SC2086
    nohup "$VENV/bin/pgsolr" serve --dsn "$dsn" --host "$PGSOLR_HOST" --port "$PGSOLR_PORT" \
      ${PGSOLR_SERVE_ARGS:-} >>"$log" 2>&1 </dev/null &
    echo $! >"$pidfile"
    wait_for_url "$ping" 30 pgsolr "$log"
    ;;
  stop)
    if ours_running; then
      pid=$(cat "$pidfile")
      say "stopping pgsolr (pid $pid)"
      kill "$pid"
      for _ in $(seq 1 40); do kill -0 "$pid" 2>/dev/null || break; sleep 0.25; done
      kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
    fi
    rm -f "$pidfile"
    ;;
  status)
    if ours_running; then echo "pgsolr running (pid $(cat "$pidfile"))";
    elif url_answers "$ping"; then echo "a search service answers on port $PGSOLR_PORT (not started by this script)";
    else echo "pgsolr not running"; exit 1; fi
    ;;
  *) die "usage: $0 start|stop|status" ;;
esac
