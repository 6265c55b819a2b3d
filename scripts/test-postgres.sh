#!/usr/bin/env bash
# A throwaway PostgreSQL for the tests, on its own port, touching no system state:
#   scripts/test-postgres.sh start   # installs the server if missing, starts it, prints the export line
#   scripts/test-postgres.sh stop    # stops it and removes its data directory
# KEYGATE_TEST_POSTGRES_PORT picks the port (55432); KEYGATE_TEST_POSTGRES_FSYNC=on keeps fsync on, for
# benchmarks (Benchmarks/run-postgres.sh runs one on 55433 that way).
# `.ci/run` runs `eval "$(scripts/test-postgres.sh start)"`, so `scripts/test.sh` sees KEYGATE_TEST_DATABASE_URL
# and runs the store conformance suite on PostgreSQL too. Runs as root (initdb and postgres run as `postgres`).
set -euo pipefail
PORT=${KEYGATE_TEST_POSTGRES_PORT:-55432}
STATE=/tmp/keygate-test-postgres-$PORT.dir
FSYNC=${KEYGATE_TEST_POSTGRES_FSYNC:-off}

pgbin() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1; }

case "${1:-}" in
start)
  if [ -z "$(pgbin)" ] || [ ! -x "$(pgbin)/initdb" ]; then
    apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq postgresql >&2
  fi
  PGBIN=$(pgbin)
  if [ -f "$STATE" ] && [ -d "$(cat "$STATE")" ]; then
    runuser -u postgres -- "$PGBIN/pg_ctl" -D "$(cat "$STATE")" -m fast -w stop >&2 || true
    rm -rf "$(cat "$STATE")"
  fi
  PGDATA=$(mktemp -d /tmp/kg-pg.XXXXXX)
  chown postgres:postgres "$PGDATA"
  chmod 700 "$PGDATA"
  echo "$PGDATA" > "$STATE"
  runuser -u postgres -- "$PGBIN/initdb" -D "$PGDATA" -U postgres -E UTF8 --locale=C.UTF-8 \
    --auth-local=trust --auth-host=scram-sha-256 --no-sync >/dev/null
  # fsync=off unless asked: a test database only (data is thrown away); max_connections for several test stores at once.
  runuser -u postgres -- "$PGBIN/pg_ctl" -D "$PGDATA" -l "$PGDATA/server.log" -w -t 30 \
    -o "-p $PORT -k /tmp -c listen_addresses=127.0.0.1 -c fsync=$FSYNC -c max_connections=300" start >&2
  "$PGBIN/psql" -q -v ON_ERROR_STOP=1 -h /tmp -p "$PORT" -U postgres -d postgres \
    -c "CREATE ROLE keygate LOGIN CREATEDB PASSWORD 'keygate'" -c "CREATE DATABASE keygate OWNER keygate" \
    -c "GRANT pg_signal_backend TO keygate" >&2
  # pg_signal_backend: the tests drop their databases WITH (FORCE), which must also stop an autovacuum worker that
  # happens to be in one (a process of no role, which only that membership may signal).
  echo "export KEYGATE_TEST_DATABASE_URL=postgres://keygate:keygate@127.0.0.1:$PORT/keygate?sslmode=disable"
  ;;
stop)
  if [ -f "$STATE" ]; then
    PGDATA=$(cat "$STATE")
    [ -d "$PGDATA" ] && runuser -u postgres -- "$(pgbin)/pg_ctl" -D "$PGDATA" -m fast -w stop >&2 || true
    rm -rf "$PGDATA" "$STATE"
  fi
  ;;
*)
  echo "usage: scripts/test-postgres.sh start|stop" >&2
  exit 2
  ;;
esac
