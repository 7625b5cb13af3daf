#!/usr/bin/env bash
# make bench-pages: page response times of the portal theme against stock CKAN
# templates on the same data (bench/pages.py), on the bench portal of
# bench/portal.sh; pgsolr is started for the run when nothing answers and
# stopped afterwards.
source "$(dirname "$0")/portal.sh"
started=0
url_answers "http://$PGSOLR_HOST:$PGSOLR_PORT/solr/ckan/admin/ping" || started=1
"$ROOT/scripts/pgsolr-ctl.sh" start
[ "$started" = 1 ] && trap '"$ROOT/scripts/pgsolr-ctl.sh" stop' EXIT
"$VENV/bin/python" bench/pages.py --ini "$ini" "$@"
