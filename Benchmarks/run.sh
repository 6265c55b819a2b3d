#!/usr/bin/env bash
# Measures what the gateway adds: the same wrk load against the fake provider directly and through
# `keygate serve` (release build), non-streaming and streaming, at 1, 16 and 64 connections.
# Usage: Benchmarks/run.sh [seconds per run, default 10]. Needs wrk (Debian package `wrk`).
set -euo pipefail
cd "$(dirname "$0")/.."
DURATION=${1:-10}
swift build -c release --product keygate >/dev/null
swift build -c release --product keygate-fake-upstream >/dev/null
BIN=$(swift build -c release --show-bin-path)
WORK=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$WORK"' EXIT

"$BIN/keygate-fake-upstream" --port 0 > "$WORK/fake.out" &
until grep -q "listening" "$WORK/fake.out" 2>/dev/null; do sleep 0.1; done
FAKE_PORT=$(awk '{print $NF}' "$WORK/fake.out")

export KEYGATE_DATA_DIR="$WORK/data"
export KEYGATE_PROVIDER_OPENAI_BASE_URL="http://127.0.0.1:$FAKE_PORT/v1"
export KEYGATE_PROVIDER_OPENAI_API_KEY="sk-bench-platform-key"
export KEYGATE_PROVIDER_NVIDIA_BASE_URL="http://127.0.0.1:$FAKE_PORT/v1"
export KEYGATE_PROVIDER_NVIDIA_API_KEY="nvapi-bench-platform-key"
"$BIN/keygate" org create bench >/dev/null
"$BIN/keygate" credits grant --org bench --credits 100000000 >/dev/null
KEY=$("$BIN/keygate" apikey create --org bench | tail -1)
GATEWAY_PORT=18931
"$BIN/keygate" serve --port $GATEWAY_PORT 2> "$WORK/serve.log" &
until curl -sf "http://127.0.0.1:$GATEWAY_PORT/readyz" >/dev/null; do sleep 0.1; done

run() {  # name url stream connections [model]
  local threads=$(( $4 < 2 ? 1 : 2 ))
  local line
  line=$(STREAM=$3 KEYGATE_KEY=$KEY MODEL=${5:-openai/gpt-5.6-luna} wrk -t"$threads" -c"$4" -d"${DURATION}s" -s Benchmarks/chat.lua "$2" | grep RESULT)
  printf '%-8s %-9s c=%-3s %s\n' "$1" "$([ "$3" = 1 ] && echo stream || echo json)" "$4" "${line#RESULT }"
}

for stream in 0 1; do
  for c in 1 16 64; do
    run direct "http://127.0.0.1:$FAKE_PORT/v1/chat/completions" $stream $c
    run gateway "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" $stream $c
  done
done
# The free path (a zero-priced model: no reservation, no settlement) against the credits path above.
for c in 1 16 64; do
  run free "http://127.0.0.1:$GATEWAY_PORT/v1/chat/completions" 0 $c nvidia/meta/llama-3.1-8b-instruct
done
echo "usage records written: $(grep -c 'chat completion' "$WORK/serve.log")"
"$BIN/keygate" ledger verify
swift build -c release --product keygate-ledger-bench >/dev/null
"$BIN/keygate-ledger-bench" 20000
