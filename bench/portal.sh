#!/usr/bin/env bash
# The bench portal's set-up, shared by make bench-pages and make bench-load
# (bench/portal.py): writes .run/bench/bench.ini and creates/migrates its
# databases ckan_bench and datastore_bench. Source it; sets $ini.
source "$(dirname "${BASH_SOURCE[0]}")/../scripts/lib.sh"
cd "$ROOT"
ini="$RUN_DIR/bench/bench.ini"
"$VENV/bin/python" bench/portal.py --write-ini "$ini"
"$ROOT/scripts/setup-db.sh" "$ini" ckan_bench datastore_bench >/dev/null
