#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on their local ports. On a bare
# machine (as root) install them from Debian's packages, give connections
# over the loopback interface trust authentication, and start them; they are
# left running for the next command. Not root: stop with the command to run.
source "$(dirname "$0")/lib.sh"

command -v python3.11 >/dev/null || die "Python 3.11 is missing: install it (Debian: apt-get install python3.11 python3.11-venv)."

pg_server_installed() { compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; }
missing=()
pg_server_installed && command -v psql >/dev/null || missing+=(postgresql)
command -v redis-server >/dev/null || missing+=(redis-server)
[ ${#missing[@]} = 0 ] || apt_install "PostgreSQL or Redis" "${missing[@]}"

# A cluster to run: Debian's package creates "main"; a machine where it was
# dropped gets it again.
if ! compgen -G "/etc/postgresql/*/main/postgresql.conf" >/dev/null; then
  [ "$(id -u)" = 0 ] || die "PostgreSQL has no cluster. Create one as root with: pg_createcluster <version> main"
  version=$(ls /usr/lib/postgresql | sort -V | tail -n 1)
  say "creating the PostgreSQL $version cluster main"
  pg_createcluster "$version" main >>"$RUN_DIR/apt-install.log" 2>&1 || die "pg_createcluster $version main failed"
fi

if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
  say "starting PostgreSQL"
  for conf in /etc/postgresql/*/main/postgresql.conf; do
    version=$(basename "$(dirname "$(dirname "$conf")")")
    pg_ctlcluster --skip-systemctl-redirect "$version" main start 2>>"$RUN_DIR/postgresql-start.log" || true
  done
  for _ in $(seq 1 60); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 0.25; done
  pg_isready -q -h "$PGHOST" -p "$PGPORT" \
    || die "PostgreSQL does not answer on $PGHOST:$PGPORT (log: /var/log/postgresql/, $RUN_DIR/postgresql-start.log)"
fi

# The scripts connect as the superuser $PGADMIN over 127.0.0.1 without a
# password (-w never prompts). Debian's default asks for one (scram-sha-256):
# put trust rules for the loopback addresses first in pg_hba.conf.
admin_connects() { psql -X -w -q -U "$PGADMIN" -d postgres -tAc 'SELECT 1' >/dev/null 2>&1; }
if ! admin_connects; then
  marker="# ckanext-gelsenkirchen: trust over loopback for the development and test databases"
  [ "$(id -u)" = 0 ] || die "PostgreSQL refuses $PGADMIN on $PGHOST without a password. As root, add to the top of pg_hba.conf:
    host all all 127.0.0.1/32 trust
    host all all ::1/128 trust
  and reload PostgreSQL (or set PGADMIN and PGPASSWORD for a role that may create roles and databases)."
  for hba in /etc/postgresql/*/main/pg_hba.conf; do
    grep -qF "$marker" "$hba" && continue
    say "giving loopback connections trust authentication in $hba"
    printf '%s\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n\n' "$marker" | cat - "$hba" >"$hba.new"
    chown --reference="$hba" "$hba.new"; chmod --reference="$hba" "$hba.new"; mv "$hba.new" "$hba"
    version=$(basename "$(dirname "$(dirname "$hba")")")
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload
  done
  for _ in $(seq 1 20); do admin_connects && break; sleep 0.25; done
  admin_connects || die "PostgreSQL still refuses $PGADMIN on $PGHOST:$PGPORT after the trust rules (see pg_hba.conf)"
fi

redis_up() { [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }
if ! redis_up; then
  say "starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
    --dir "${TMPDIR:-/tmp}" --logfile "$RUN_DIR/redis.log"
  for _ in $(seq 1 40); do redis_up && break; sleep 0.25; done
  redis_up || die "Redis does not answer on $REDIS_HOST:$REDIS_PORT (log: $RUN_DIR/redis.log)"
fi
say "PostgreSQL and Redis answer"
