#!/usr/bin/env bash
# Create (idempotently) the roles and databases for one CKAN config and bring
# its schema up to date: CKAN core and plugin migrations, DataStore
# permissions for the read-only role, and the pgsolr database.
#   scripts/setup-db.sh CONFIG.ini CKAN_DB DATASTORE_DB
source "$(dirname "$0")/lib.sh"
ini=${1:?config file}; ckan_db=${2:?ckan database}; datastore_db=${3:?datastore database}
# CKAN=2.10 and 2.11 get databases of their own (ckan_test_ckan2_10, ...)
use_version_databases "$ckan_db" "$datastore_db"
ckan_db=$ckan_db$DB_SUFFIX; datastore_db=$datastore_db$DB_SUFFIX

create_role() {  # name password
  psql_admin -tAc "SELECT 1 FROM pg_roles WHERE rolname = '$1'" | grep -q 1 \
    || { say "creating role $1"; psql_admin -c "CREATE ROLE $1 LOGIN PASSWORD '$2'"; }
}
create_db() {  # name owner
  psql_admin -tAc "SELECT 1 FROM pg_database WHERE datname = '$1'" | grep -q 1 \
    || { say "creating database $1"; psql_admin -c "CREATE DATABASE $1 OWNER $2 ENCODING 'UTF8' TEMPLATE template0"; }
}

# one creator at a time: suites of two CKAN versions start side by side in CI
(
  flock 8
  create_role ckan_default pass
  create_role datastore_default pass
  create_db "$ckan_db" ckan_default
  create_db "$datastore_db" ckan_default
  create_db "$PGSOLR_DB" ckan_default
) 8>"${TMPDIR:-/tmp}/ckanext-gelsenkirchen-setup-db.lock"

# CKAN checks the search service's schema version when it starts: the
# search service of this CKAN version (CKAN_SOLR_URL), not the ini's port
search_env "$ini" "$(sed -n 's|^solr_url *=.*/solr/||p' "$ini")"
say "migrating $ckan_db (CKAN core and plugins)"
"$VENV/bin/ckan" -c "$ini" db upgrade >"$RUN_DIR/migrate$DB_SUFFIX.log" 2>&1 || { cat "$RUN_DIR/migrate$DB_SUFFIX.log"; die "ckan db upgrade failed"; }
"$VENV/bin/ckan" -c "$ini" db pending-migrations --apply >>"$RUN_DIR/migrate$DB_SUFFIX.log" 2>&1 \
  || { cat "$RUN_DIR/migrate$DB_SUFFIX.log"; die "applying plugin migrations failed"; }

say "granting DataStore permissions on $datastore_db"
"$VENV/bin/ckan" -c "$ini" datastore set-permissions 2>>"$RUN_DIR/migrate$DB_SUFFIX.log" \
  | PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -U "$PGADMIN" -d "$datastore_db" >/dev/null
