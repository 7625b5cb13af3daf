# shellcheck shell=bash
# Sourced by demo.sh once the databases are set up. With PROD=1 (make serve)
# the demo portal runs under the production servers; this sets
#   PGSOLR_SERVE_ARGS  pgsolr under gunicorn, one process with threads
#   PROD_WEB           CKAN under gunicorn (ckanext/gelsenkirchen/gunicorn_conf.py)
# Settings and the reasons for them: docs/operations.md. make demo and make
# serve never mix: while the servers of one run, the other stops with the
# command to run first.
mode_file="$DEMO_DIR/mode"
want=demo; [ -n "${PROD:-}" ] && want=serve
have=$(cat "$mode_file" 2>/dev/null || echo demo)
running() { [ -f "$DEMO_DIR/$1.pid" ] && kill -0 "$(cat "$DEMO_DIR/$1.pid")" 2>/dev/null; }
# the search backend counts when this demo started it (scripts/stop.sh)
if [ "$want" != "$have" ] && { running web || [ -f "$DEMO_DIR/search.started" ]; }; then
  die "the servers of 'make $have' are running: stop them with 'make stop', then run 'make $want'"
fi
echo "$want" >"$mode_file"
if [ "$want" = serve ]; then
  export PGSOLR_SERVE_ARGS="--server gunicorn"
  PROD_WEB=(env "CKAN_INI=$ini" "$VENV/bin/gunicorn" -c python:ckanext.gelsenkirchen.gunicorn_conf
            --bind "127.0.0.1:$PORT" ckanext.gelsenkirchen.wsgi:application)
  say "production servers: CKAN under gunicorn ($("$VENV/bin/python" -c \
    'import ckanext.gelsenkirchen.gunicorn_conf as c; print(f"{c.workers} workers x {c.threads} threads")')), pgsolr --server gunicorn"
fi
