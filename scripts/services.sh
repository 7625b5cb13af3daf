#!/usr/bin/env bash
# Make sure PostgreSQL and Redis answer on their local ports: start them
# when they are installed but stopped, stop with the package to install when
# they are missing.
source "$(dirname "$0")/lib.sh"

command -v python3.11 >/dev/null || die "Python 3.11 is missing: install it (Debian: apt-get install python3.11 python3.11-venv)."
command -v psql >/dev/null || die "The PostgreSQL client is missing: apt-get install postgresql (15 or newer)."

if ! pg_isready -q -h "$PGHOST" -p "$PGPORT"; then
  if command -v pg_ctlcluster >/dev/null && ls /etc/postgresql/ >/dev/null 2>&1; then
    say "PostgreSQL is installed but not running: starting it"
    for version in $(ls /etc/postgresql); do
      pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    done
    for _ in $(seq 1 40); do pg_isready -q -h "$PGHOST" -p "$PGPORT" && break; sleep 0.25; done
  fi
  pg_isready -q -h "$PGHOST" -p "$PGPORT" || die "PostgreSQL does not answer on $PGHOST:$PGPORT. Install it with: apt-get install postgresql"
fi

redis_up() { "$VENV/bin/python" -c "import redis,sys; redis.Redis(host='$REDIS_HOST', port=$REDIS_PORT, socket_timeout=2).ping()" 2>/dev/null \
  || { command -v redis-cli >/dev/null && [ "$(redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" ping 2>/dev/null)" = PONG ]; }; }
if ! redis_up; then
  if command -v redis-server >/dev/null; then
    say "Redis is installed but not running: starting it"
    mkdir -p /var/lib/redis /var/log/redis 2>/dev/null || true
    redis-server --daemonize yes --bind 127.0.0.1 --port "$REDIS_PORT" --save "" --appendonly no \
      --dir "${TMPDIR:-/tmp}" --logfile "$RUN_DIR/redis.log"
    for _ in $(seq 1 40); do redis_up && break; sleep 0.25; done
  fi
  redis_up || die "Redis does not answer on $REDIS_HOST:$REDIS_PORT. Install it with: apt-get install redis-server"
fi
say "PostgreSQL and Redis answer"
