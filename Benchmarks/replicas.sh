#!/usr/bin/env bash
# Credit-billed /v1/chat/completions of ONE busy organisation on PostgreSQL, with 1, 2 and 3 `keygate serve`
# replicas on one database (issue 15's benchmark), next to one `keygate serve` on the embedded SQLite store
# (`KEYGATE_SQLITE_SYNC` normal, the default, and full: a sync per commit).
# Each replica gets its share of the connections from a wrk of its own (no load balancer: its cost is not
# Keygate's); the replicas' rates are summed. Everything shares this machine: nginx as the provider, PostgreSQL
# (fsync and synchronous_commit on), the replicas and wrk. See docs/PERFORMANCE.md.
#
# Usage: Benchmarks/replicas.sh [seconds per wrk run, default 10]
#   KEYGATE_BENCH_DATABASE_URL=postgres://…   an empty database to use; without it a durable throwaway cluster
#                                              is started on port 55433 (scripts/test-postgres.sh) and stopped after
#   CONNS="1 16 64 256"                       total connections per run
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${1:-10}
read -r -a CONNS <<< "${CONNS:-1 16 64 256}"
MODEL_PAID=openai/gpt-5.6-luna
WORK=$(mktemp -d "${TMPDIR:-/tmp}/keygate-replicas.XXXXXX")
RESULTS=$WORK/replicas.tsv   # store replicas conns rps p50_us p99_us errors requests
: > "$RESULTS"
source "$ROOT/Benchmarks/lib.sh"

log "building keygate (release)"
build keygate
BIN=$WORK/bin
mkdir -p "$BIN"
cp "$(swift build -c release --show-bin-path)/keygate" "$BIN/"
ulimit -n 65536 2>/dev/null || true

OWN_CLUSTER=0
if [ -z "${KEYGATE_BENCH_DATABASE_URL:-}" ]; then
  log "starting a durable PostgreSQL on port 55433"
  KEYGATE_TEST_POSTGRES_PORT=55433 KEYGATE_TEST_POSTGRES_FSYNC=on "$ROOT/scripts/test-postgres.sh" start > /dev/null
  OWN_CLUSTER=1
  KEYGATE_BENCH_DATABASE_URL="postgres://keygate:keygate@127.0.0.1:55433/keygate?sslmode=disable"
fi
stop_cluster() { if [ "$OWN_CLUSTER" = 1 ]; then KEYGATE_TEST_POSTGRES_PORT=55433 "$ROOT/scripts/test-postgres.sh" stop || true; fi; }
trap 'cleanup; stop_cluster' EXIT

start_nginx
export KEYGATE_MASTER_KEY
KEYGATE_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export KEYGATE_PROVIDER_OPENAI_API_KEY=sk-bench-platform-key
export KEYGATE_PROVIDER_OPENAI_BASE_URL=$JSON_BASE
export KEYGATE_LOG_LEVEL=warning

prepare_store() {  # database-url: one organisation with credits for every run, and its key in KEY
  KEYGATE_DATABASE_URL=$1 "$BIN/keygate" org create bench > /dev/null
  KEYGATE_DATABASE_URL=$1 "$BIN/keygate" credits grant --org bench --credits 100000000 > /dev/null
  KEY=$(KEYGATE_DATABASE_URL=$1 "$BIN/keygate" apikey create --org bench | tail -1)
}

REPLICA_PIDS=()
REPLICA_PORTS=()
start_replicas() {  # database-url count
  local i port
  REPLICA_PIDS=(); REPLICA_PORTS=()
  for i in $(seq "$2"); do
    port=$(free_port)
    start_server "$WORK/replica-$2-$i.log" env KEYGATE_DATABASE_URL="$1" "$BIN/keygate" serve --port "$port"
    wait_http "$SERVER_PID" "http://127.0.0.1:$port/readyz" 60 || { tail -n 20 "$WORK/replica-$2-$i.log" >&2; die "replica $i did not start"; }
    REPLICA_PIDS+=("$SERVER_PID"); REPLICA_PORTS+=("$port")
  done
}
stop_replicas() { local pid; for pid in "${REPLICA_PIDS[@]}"; do stop_server "$pid"; done; }

run_split() {  # store conns [seconds]: one wrk per replica with its share of conns; sums rps, keeps the worst p50/p99
  local n=${#REPLICA_PORTS[@]} i share out rps=0 requests=0 errors=0 p50=0 p99=0 line
  local outs=() wrks=()
  for i in $(seq 0 $(( n - 1 ))); do
    share=$(( ($2 + n - 1 - i) / n ))
    (( share > 0 )) || continue
    STREAM=0 KEYGATE_KEY=$KEY MODEL=$MODEL_PAID wrk -t1 -c"$share" -d"${3:-$DURATION}s" --timeout 10s \
      -s "$ROOT/Benchmarks/chat.lua" "http://127.0.0.1:${REPLICA_PORTS[$i]}/v1/chat/completions" > "$WORK/wrk-$i.out" 2>&1 &
    wrks+=($!)
    outs+=("$WORK/wrk-$i.out")
  done
  wait "${wrks[@]}"   # not a bare wait: the replicas are children of this shell too
  [ -n "${3:-}" ] && return 0
  for out in "${outs[@]}"; do
    line=$(grep '^RESULT' "$out") || die "no RESULT from wrk: $(cat "$out")"
    eval "$(sed 's/^RESULT //; s/\([a-z0-9_]*\)=\([0-9.]*\)/local r_\1=\2;/g' <<< "$line")"
    rps=$(( rps + r_rps )); requests=$(( requests + r_requests )); errors=$(( errors + r_errors ))
    (( r_p50_us > p50 )) && p50=$r_p50_us
    (( r_p99_us > p99 )) && p99=$r_p99_us
  done
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$n" "$2" "$rps" "$p50" "$p99" "$errors" "$requests" >> "$RESULTS"
  log "$(printf '%-10s replicas=%s c=%-3s %6s req/s  p50 %6s µs  p99 %6s µs  errors %s' "$1" "$n" "$2" "$rps" "$p50" "$p99" "$errors")"
}

check_billing() {  # port: the request is credit-billed
  local billing
  billing=$(curl -sS -D - -o /dev/null -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY" \
    -d "{\"model\":\"$MODEL_PAID\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}" \
    "http://127.0.0.1:$1/v1/chat/completions" | awk -F': *' 'tolower($1) == "x-keygate-billing" { gsub(/\r/, "", $2); print $2 }')
  [ "$billing" = credits ] || die "expected x-keygate-billing: credits, got '${billing:-none}'"
}

measure() {  # store-label database-url replicas
  local c
  start_replicas "$2" "$3"
  check_billing "${REPLICA_PORTS[0]}"
  run_split "$1" 16 2   # warm-up
  for c in "${CONNS[@]}"; do run_split "$1" "$c"; done
  stop_replicas
}

export KEYGATE_DATA_DIR=$WORK/sqlite-data
SQLITE_URL="sqlite://$WORK/sqlite-data/keygate.db"
mkdir -p "$WORK/sqlite-data"
prepare_store "$SQLITE_URL"
measure sqlite "$SQLITE_URL" 1
# SQLite with a sync per commit, as PostgreSQL's synchronous commit flushes each (the fair comparison for latency).
KEYGATE_SQLITE_SYNC=full measure sqlite-full "$SQLITE_URL" 1

prepare_store "$KEYGATE_BENCH_DATABASE_URL"
for replicas in 1 2 3; do measure postgres "$KEYGATE_BENCH_DATABASE_URL" "$replicas"; done
KEYGATE_DATABASE_URL=$KEYGATE_BENCH_DATABASE_URL "$BIN/keygate" ledger verify || die "ledger verify failed on PostgreSQL"

log "results (store, replicas, connections, req/s, worst p50 µs, worst p99 µs, errors, requests): $RESULTS"
column -t "$RESULTS" >&2
