#!/usr/bin/env bash
# make bench-load: 50 concurrent clients for 60 s against the production
# servers, with the theme and with stock CKAN templates (bench/load.py), on
# the bench portal of bench/portal.sh. Starts and stops its own servers
# (pgsolr and CKAN under gunicorn, on free ports).
source "$(dirname "$0")/portal.sh"
"$VENV/bin/python" bench/load.py --ini "$ini" "$@"
