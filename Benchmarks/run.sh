#!/usr/bin/env bash
# The benchmark suite: what Keygate adds to a request, next to the floor (nginx answered directly), the limit
# of a Swift gateway on this stack (keygate-bare-forwarder: Hummingbird 2 + AsyncHTTPClient, nothing else)
# and LiteLLM's proxy, all on 127.0.0.1, in one run. See docs/PERFORMANCE.md.
#
# Usage: Benchmarks/run.sh [seconds per wrk run, default 10]
#   SKIP_LITELLM=1   leave LiteLLM out (no venv, no pip)
#   ONLY=a,b,...     run only some parts: direct,bare,free,credits,byok,litellm,streams,ledger
#   NO_DOC=1         do not rewrite the results block of docs/PERFORMANCE.md
# Needs wrk, curl, ss, python3; installs nginx with apt-get if missing; LiteLLM goes into Benchmarks/.venv-litellm.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
DURATION=${1:-10}
ALL=direct,bare,free,credits,byok,litellm,streams,ledger
ONLY=${ONLY:-$ALL}
if [ "${SKIP_LITELLM:-0}" = 1 ]; then ONLY=${ONLY//litellm/}; fi
want() { [[ ",$ONLY," == *",$1,"* ]]; }
wants_keygate() { want free || want credits || want byok || want streams; }
CONNS=(1 16 64)
HOLD_STREAMS=1000
MODEL_FREE=nvidia/meta/llama-3.1-8b-instruct
MODEL_PAID=openai/gpt-5.6-luna

WORK=$(mktemp -d "${TMPDIR:-/tmp}/keygate-bench.XXXXXX")
RESULTS=$WORK/results.tsv      # variant mode conns rps p50_us p90_us p99_us errors requests cpu_ticks peak_rss_kb written_bytes
TTFB=$WORK/ttfb.tsv            # variant requests p50_us p90_us p99_us errors
PACED=$WORK/paced.tsv          # variant requests p50_us p90_us p99_us errors (16 paced streams, fake upstream)
HOLD=$WORK/hold.tsv            # variant streams completed errors max_concurrent max_established peak_rss_kb max_rss_kb
META=$WORK/meta.tsv            # key value
: > "$RESULTS"; : > "$TTFB"; : > "$PACED"; : > "$HOLD"; : > "$META"
source "$ROOT/Benchmarks/lib.sh"

PRODUCTS=()
if wants_keygate || want ledger; then PRODUCTS+=(keygate); fi
if want bare || want streams; then PRODUCTS+=(keygate-bare-forwarder); fi
if want streams; then PRODUCTS+=(keygate-fake-upstream); fi
if want ledger; then PRODUCTS+=(keygate-ledger-bench); fi
RELEASE=$(swift build -c release --show-bin-path)
BIN=$WORK/bin   # copies, so a rebuild in the shared .build during the run cannot swap a binary under us
mkdir -p "$BIN"
for product in "${PRODUCTS[@]}"; do
  log "building $product (release)"
  build "$product"
  cp "$RELEASE/$product" "$BIN/"
done

ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
CLK_TCK=$(getconf CLK_TCK)
{
  printf 'duration\t%s\n' "$DURATION"
  printf 'clk_tck\t%s\n' "$CLK_TCK"
  printf 'date\t%s\n' "$(date -u +%F)"
  printf 'nproc\t%s\n' "$(nproc)"
  printf 'memtotal_kb\t%s\n' "$(awk '/^MemTotal:/ { print $2 }' /proc/meminfo)"
  printf 'kernel\t%s\n' "$(uname -r)"
  printf 'cpu\t%s\n' "$(awk -F': *' '/^model name/ { print $2; exit }' /proc/cpuinfo)"
  printf 'swift\t%s\n' "$(swift --version 2>/dev/null | grep -o 'Swift version [0-9.]*' | head -1)"
  printf 'wrk\t%s\n' "$(wrk -v 2>&1 | head -1 | awk '{ print $1, $2 }')"
} >> "$META"
git_rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
printf 'commit\t%s%s\n' "$git_rev" "$(git diff --quiet -- Sources 2>/dev/null || echo ' + uncommitted changes')" >> "$META"

start_nginx

# ---------------------------------------------------------------- measuring
request_body() {  # model stream(0|1) [extra user text]
  local stream=
  [ "$2" = 1 ] && stream=',"stream":true'
  printf '{"model":"%s","messages":[{"role":"system","content":"You are terse."},{"role":"user","content":"Write one short sentence about gateways.%s"}],"max_tokens":64%s}' "$1" "${3:-}" "$stream"
}
# One curl request; must be a 200 whose body is a chat completion (or an SSE stream ending in [DONE]) and,
# with an expected billing path, carry `x-keygate-billing: <path>`.
check_request() {  # label url key model stream expected-billing|-
  local status billing
  status=$(curl -sS -o "$WORK/check.body" -D "$WORK/check.head" -w '%{http_code}' --max-time 30 \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $3" -d "$(request_body "$4" "$5")" "$2") || status=000
  if [ "$status" != 200 ]; then
    log "$1: HTTP $status"; head -c 600 "$WORK/check.body" >&2; echo >&2; return 1
  fi
  if [ "$5" = 1 ]; then
    grep -q '^data: \[DONE\]' "$WORK/check.body" || { log "$1: the stream did not end with [DONE]"; head -c 600 "$WORK/check.body" >&2; return 1; }
  else
    grep -q '"chat.completion"' "$WORK/check.body" || { log "$1: not a chat.completion"; head -c 600 "$WORK/check.body" >&2; return 1; }
  fi
  if [ "$6" != - ]; then
    billing=$(awk -F': *' 'tolower($1) == "x-keygate-billing" { gsub(/\r/, "", $2); print $2 }' "$WORK/check.head")
    [ "$billing" = "$6" ] || { log "$1: x-keygate-billing is '${billing:-absent}', expected '$6'"; return 1; }
    log "$1: 200, x-keygate-billing: $billing"
  fi
}

run_wrk() {  # variant mode conns url model key pid [seconds]
  local threads=$(( $3 < 2 ? 1 : 2 )) stream=0 before after out line hwm written_before written_after
  [ "$2" = stream ] && stream=1
  written_before=$(tree_write_bytes "$7")
  before=$(tree_ticks "$7")
  out=$(STREAM=$stream KEYGATE_KEY=$6 MODEL=$5 wrk -t"$threads" -c"$3" -d"${8:-$DURATION}s" --timeout 10s -s "$ROOT/Benchmarks/chat.lua" "$4") \
    || die "wrk failed against $1: $out"
  after=$(tree_ticks "$7")
  written_after=$(tree_write_bytes "$7")
  hwm=$(tree_status_kb "$7" VmHWM)
  line=$(grep '^RESULT' <<< "$out") || die "no RESULT line from wrk: $out"
  # RESULT rps=.. p50_us=.. p90_us=.. p99_us=.. errors=.. requests=..
  eval "$(sed 's/^RESULT //; s/\([a-z0-9_]*\)=\([0-9.]*\)/local r_\1=\2;/g' <<< "$line")"
  if [ -z "${8:-}" ]; then
    printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$2" "$3" "$r_rps" "$r_p50_us" "$r_p90_us" "$r_p99_us" \
      "$r_errors" "$r_requests" "$(( after - before ))" "$hwm" "$(( written_after - written_before ))" >> "$RESULTS"
  fi
  log "$(printf '%-8s %-6s c=%-3s %6s req/s  p50 %6s µs  p99 %6s µs  errors %s  cpu %s ticks' "$1" "$2" "$3" "$r_rps" "$r_p50_us" "$r_p99_us" "$r_errors" "$(( after - before ))")"
  LAST_RPS=$r_rps
}
warm_up() { run_wrk "$1" "$2" 16 "$3" "$4" "$5" "$6" 1 > /dev/null 2>&1 || true; }

run_ttfb() {  # variant url model key
  local out
  out=$(python3 "$ROOT/Benchmarks/ttfb.py" ttfb "$2" --conns 16 --seconds "$DURATION" --model "$3" --key "$4") || die "ttfb.py against $1: $out"
  # TTFB requests=.. p50_us=.. p90_us=.. p99_us=.. errors=..
  eval "$(sed 's/^TTFB //; s/\([a-z0-9_]*\)=\([0-9.]*\)/local t_\1=\2;/g' <<< "$out")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$t_requests" "$t_p50_us" "$t_p90_us" "$t_p99_us" "$t_errors" >> "$TTFB"
  log "$(printf '%-8s TTFB at 16 conns: p50 %s µs  p90 %s µs  p99 %s µs  (%s requests, %s errors)' "$1" "$t_p50_us" "$t_p90_us" "$t_p99_us" "$t_requests" "$t_errors")"
}

measure_mode() {  # variant mode url model key pid: warm-up, the three connection counts, TTFB when streaming
  local c
  warm_up "$1" "$2" "$3" "$4" "$5" "$6"
  for c in "${CONNS[@]}"; do run_wrk "$1" "$2" "$c" "$3" "$4" "$5" "$6"; done
  if [ "$2" = stream ]; then run_ttfb "$1" "$3" "$4" "$5"; fi
}

# ---------------------------------------------------------------- 1. direct: the floor
if want direct; then
  check_request "direct json" "$JSON_BASE/chat/completions" sk-direct "$MODEL_PAID" 0 - || die "nginx JSON answer"
  check_request "direct stream" "$SSE_BASE/chat/completions" sk-direct "$MODEL_PAID" 1 - || die "nginx SSE answer"
  measure_mode direct json "$JSON_BASE/chat/completions" "$MODEL_PAID" sk-direct "$NGINX_PID"
  measure_mode direct stream "$SSE_BASE/chat/completions" "$MODEL_PAID" sk-direct "$NGINX_PID"
fi

# ---------------------------------------------------------------- 2. bare forwarder
start_bare() {  # upstream-base log
  start_server "$2" "$BIN/keygate-bare-forwarder" --upstream "$1" --port 0 --max-connections 2048
  local pid=$SERVER_PID i
  for i in $(seq 100); do grep -q listening "$2" 2>/dev/null && break; sleep 0.1; done
  BARE_PORT=$(awk '/listening/ { print $NF }' "$2")
  [ -n "$BARE_PORT" ] || die "bare forwarder did not start (see $2)"
  BARE_PID=$pid
}
if want bare; then
  for mode in json stream; do
    base=$JSON_BASE; stream=0
    [ $mode = stream ] && { base=$SSE_BASE; stream=1; }
    start_bare "$base" "$WORK/bare-$mode.log"
    url=http://127.0.0.1:$BARE_PORT/v1/chat/completions
    check_request "bare $mode" "$url" sk-bare "$MODEL_PAID" $stream - || die "bare forwarder check"
    measure_mode bare $mode "$url" "$MODEL_PAID" sk-bare "$BARE_PID"
    stop_server "$BARE_PID"
  done
fi

# ---------------------------------------------------------------- 3-5. Keygate
export KEYGATE_DATA_DIR=$WORK/keygate-data
KEYGATE_MASTER_KEY=$(head -c 32 /dev/urandom | base64)
export KEYGATE_MASTER_KEY
export KEYGATE_PROVIDER_OPENAI_API_KEY=sk-bench-platform-key
export KEYGATE_PROVIDER_NVIDIA_API_KEY=nvapi-bench-platform-key
export KEYGATE_PROVIDER_OPENAI_BASE_URL=$JSON_BASE
export KEYGATE_PROVIDER_NVIDIA_BASE_URL=$JSON_BASE
start_keygate() {  # upstream-base log
  KEYGATE_PORT=$(free_port)
  start_server "$2" env KEYGATE_PROVIDER_OPENAI_BASE_URL="$1" KEYGATE_PROVIDER_NVIDIA_BASE_URL="$1" \
    "$BIN/keygate" serve --port "$KEYGATE_PORT"
  KEYGATE_PID=$SERVER_PID
  wait_http "$KEYGATE_PID" "http://127.0.0.1:$KEYGATE_PORT/readyz" 60 || { tail -n 20 "$2" >&2; die "keygate serve did not start (see $2)"; }
}
if wants_keygate || want ledger; then
  log "creating organisations and keys"
  "$BIN/keygate" org create bench > /dev/null
  "$BIN/keygate" credits grant --org bench --credits 100000000 > /dev/null
  KEY_BENCH=$("$BIN/keygate" apikey create --org bench | tail -1)
  "$BIN/keygate" org create byok > /dev/null
  "$BIN/keygate" credits grant --org byok --credits 100000000 > /dev/null  # for a BYOK fee, if one is configured
  KEY_BYOK=$("$BIN/keygate" apikey create --org byok | tail -1)
  echo sk-byok-bench-0123456789abcdef | "$BIN/keygate" byok add --org byok --provider openai > "$WORK/byok-add.log" 2>&1 \
    || die "keygate byok add (validated against GET $JSON_BASE/models): $(cat "$WORK/byok-add.log")"
fi
run_keygate_variant() {  # variant model key expected-billing
  local mode base stream url
  for mode in json stream; do
    base=$JSON_BASE; stream=0
    [ $mode = stream ] && { base=$SSE_BASE; stream=1; }
    start_keygate "$base" "$WORK/keygate-$1-$mode.log"
    url=http://127.0.0.1:$KEYGATE_PORT/v1/chat/completions
    check_request "keygate $1 $mode" "$url" "$3" "$2" $stream "$4" || die "keygate $1 $mode is not on the $4 path"
    measure_mode "$1" $mode "$url" "$2" "$3" "$KEYGATE_PID"
    stop_server "$KEYGATE_PID"
  done
}
want free && run_keygate_variant free "$MODEL_FREE" "$KEY_BENCH" free
want credits && run_keygate_variant credits "$MODEL_PAID" "$KEY_BENCH" credits
want byok && run_keygate_variant byok "$MODEL_PAID" "$KEY_BYOK" byok

# ---------------------------------------------------------------- 6. LiteLLM proxy
VENV=$ROOT/Benchmarks/.venv-litellm
start_litellm() {  # upstream-base workers log
  local config=$WORK/litellm-$2.yaml
  cat > "$config" <<EOF
model_list:
  - model_name: $MODEL_PAID
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: $1
      api_key: sk-bench-litellm-upstream
litellm_settings:
  telemetry: False
  set_verbose: False
  suppress_debug_info: True
general_settings:
  # No master key and no database, the cheapest LiteLLM (this version refuses to start keyless without this).
  dangerously_permit_weak_or_unset_master_key: true
EOF
  LITELLM_PORT=$(free_port)
  start_server "$3" env -u DATABASE_URL -u LITELLM_MASTER_KEY \
    LITELLM_LOCAL_MODEL_COST_MAP=True LITELLM_LOG=ERROR LITELLM_TELEMETRY=False \
    "$VENV/bin/litellm" --config "$config" --host 127.0.0.1 --port "$LITELLM_PORT" --num_workers "$2"
  LITELLM_PID=$SERVER_PID
  wait_http "$LITELLM_PID" "http://127.0.0.1:$LITELLM_PORT/health/liveliness" 180 || { tail -n 30 "$3" >&2; die "litellm did not start (see $3)"; }
  # The first worker answers while the others are still importing (about 10 s of CPU each): wait for quiet.
  wait_idle "$LITELLM_PID" 120 || die "litellm kept busy after starting (see $3)"
}
if want litellm; then
  if [ ! -x "$VENV/bin/litellm" ]; then
    log "creating $VENV with $(tr '\n' ' ' < Benchmarks/litellm-requirements.txt | sed 's/#[^ ]*//g')"
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install -q -r Benchmarks/litellm-requirements.txt > "$WORK/pip.log" 2>&1 || die "pip install (see $WORK/pip.log)"
  fi
  LITELLM_VERSION=$("$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("litellm"))')
  printf 'litellm_version\t%s\n' "$LITELLM_VERSION" >> "$META"
  # Workers: what a user would run on this box: try 1 and 2 (JSON, 16 connections), keep the faster.
  best_workers=1; best_rps=-1
  trial_seconds=$(( DURATION < 6 ? 3 : DURATION / 2 ))
  for workers in 1 2; do
    start_litellm "$JSON_BASE" $workers "$WORK/litellm-trial-$workers.log"
    url=http://127.0.0.1:$LITELLM_PORT/v1/chat/completions
    check_request "litellm ($workers workers)" "$url" sk-none "$MODEL_PAID" 0 - || die "litellm did not answer 200"
    warm_up litellm json "$url" "$MODEL_PAID" sk-none "$LITELLM_PID"
    run_wrk "litellm-w$workers" json 16 "$url" "$MODEL_PAID" sk-none "$LITELLM_PID" "$trial_seconds"
    rps=$LAST_RPS
    log "litellm with $workers worker(s): $rps req/s (JSON, 16 connections, ${trial_seconds} s)"
    printf 'litellm_trial_w%s_rps\t%s\n' "$workers" "$rps" >> "$META"
    if [ "${rps:-0}" -gt "$best_rps" ]; then best_rps=${rps:-0}; best_workers=$workers; fi
    stop_server "$LITELLM_PID"
  done
  printf 'litellm_workers\t%s\n' "$best_workers" >> "$META"
  log "LiteLLM $LITELLM_VERSION: using $best_workers worker(s)"
  for mode in json stream; do
    base=$JSON_BASE; stream=0
    [ $mode = stream ] && { base=$SSE_BASE; stream=1; }
    start_litellm "$base" "$best_workers" "$WORK/litellm-$mode.log"
    url=http://127.0.0.1:$LITELLM_PORT/v1/chat/completions
    check_request "litellm $mode" "$url" sk-none "$MODEL_PAID" $stream - || die "litellm $mode did not answer 200"
    log "litellm $mode: 200"
    measure_mode litellm $mode "$url" "$MODEL_PAID" sk-none "$LITELLM_PID"
    stop_server "$LITELLM_PID"
  done
fi

# ---------------------------------------------------------------- 1,000 slow concurrent streams
hold_streams() {  # variant url key pid
  local out client i max_est=0 max_rss=0 est rss port=${2##*:}
  port=${port%%/*}
  python3 "$ROOT/Benchmarks/ttfb.py" hold "$2" --conns "$HOLD_STREAMS" --key "$3" --model "$MODEL_PAID" \
    --directive '#fake chunks=40 delay_ms=250' > "$WORK/hold-$1.out" 2>&1 &
  client=$!
  while kill -0 "$client" 2>/dev/null; do
    est=$(ss -Htn state established "( sport = :$port )" 2>/dev/null | wc -l)
    rss=$(tree_status_kb "$4" VmRSS)
    (( est > max_est )) && max_est=$est
    (( rss > max_rss )) && max_rss=$rss
    sleep 0.25
  done
  wait "$client" || die "ttfb.py hold against $1: $(cat "$WORK/hold-$1.out")"
  out=$(grep '^HOLD' "$WORK/hold-$1.out") || die "ttfb.py hold: $(cat "$WORK/hold-$1.out")"
  eval "$(sed 's/^HOLD //; s/\([a-z0-9_]*\)=\([a-z0-9.]*\)/local h_\1=\2;/g' <<< "$out")"
  printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$h_conns" "$h_completed" "$h_errors" "$h_max_concurrent" "$max_est" \
    "$(tree_status_kb "$4" VmHWM)" "$max_rss" >> "$HOLD"
  log "$1: $HOLD_STREAMS slow streams: completed $h_completed, errors $h_errors, at once $h_max_concurrent (client), $max_est established (ss), peak RSS $(( $(tree_status_kb "$4" VmHWM) / 1024 )) MiB"
}
if want streams; then
  start_server "$WORK/fake.log" "$BIN/keygate-fake-upstream" --port 0
  FAKE_PID=$SERVER_PID
  for i in $(seq 100); do grep -q listening "$WORK/fake.log" 2>/dev/null && break; sleep 0.1; done
  FAKE_PORT=$(awk '/listening/ { print $NF }' "$WORK/fake.log")
  [ -n "$FAKE_PORT" ] || die "keygate-fake-upstream did not start"
  # Time to first event with 16 open streams that last like a model's (10 events 20 ms apart), not
  # back-to-back static ones: what a gateway adds to the first token when it is not saturated.
  paced_ttfb() {  # variant url key [model]
    local out
    out=$(python3 "$ROOT/Benchmarks/ttfb.py" ttfb "$2" --conns 16 --seconds "$DURATION" --model "${4:-$MODEL_PAID}" --key "$3" \
      --directive "$PACED_DIRECTIVE") || die "ttfb.py (paced) against $1: $out"
    eval "$(sed 's/^TTFB //; s/\([a-z0-9_]*\)=\([0-9]*\)/local t_\1=\2;/g' <<< "$out")"
    printf '%s\t%s\t%s\t%s\t%s\t%s\n' "$1" "$t_requests" "$t_p50_us" "$t_p90_us" "$t_p99_us" "$t_errors" >> "$PACED"
    log "$1: paced TTFB at 16 streams: p50 $t_p50_us µs  p90 $t_p90_us µs  p99 $t_p99_us µs  ($t_requests requests, $t_errors errors)"
  }
  PACED_DIRECTIVE='#fake chunks=10 delay_ms=20'
  paced_ttfb direct "http://127.0.0.1:$FAKE_PORT/v1/chat/completions" sk-direct
  start_keygate "http://127.0.0.1:$FAKE_PORT/v1" "$WORK/keygate-paced.log"
  paced_ttfb free "http://127.0.0.1:$KEYGATE_PORT/v1/chat/completions" "$KEY_BENCH" "$MODEL_FREE"
  paced_ttfb credits "http://127.0.0.1:$KEYGATE_PORT/v1/chat/completions" "$KEY_BENCH"
  stop_server "$KEYGATE_PID"
  start_keygate "http://127.0.0.1:$FAKE_PORT/v1" "$WORK/keygate-hold.log"
  check_request "keygate credits (fake upstream)" "http://127.0.0.1:$KEYGATE_PORT/v1/chat/completions" "$KEY_BENCH" "$MODEL_PAID" 1 credits \
    || die "keygate in front of the fake upstream"
  hold_streams credits "http://127.0.0.1:$KEYGATE_PORT/v1/chat/completions" "$KEY_BENCH" "$KEYGATE_PID"
  stop_server "$KEYGATE_PID"
  start_bare "http://127.0.0.1:$FAKE_PORT/v1" "$WORK/bare-hold.log"
  paced_ttfb bare "http://127.0.0.1:$BARE_PORT/v1/chat/completions" sk-bare
  hold_streams bare "http://127.0.0.1:$BARE_PORT/v1/chat/completions" sk-bare "$BARE_PID"
  stop_server "$BARE_PID"
  stop_server "$FAKE_PID"
fi

# ---------------------------------------------------------------- ledger
if want ledger; then
  log "keygate-ledger-bench 20000"
  (cd "$WORK" && "$BIN/keygate-ledger-bench" 20000) | tee "$WORK/ledger.txt" >&2 || die "keygate-ledger-bench"
fi
if wants_keygate; then
  "$BIN/keygate" ledger verify > "$WORK/ledger-verify.txt" 2>&1 || die "keygate ledger verify: $(cat "$WORK/ledger-verify.txt")"
  log "keygate ledger verify: $(tail -n 1 "$WORK/ledger-verify.txt")"
  printf 'ledger_verify\t%s\n' "$(tail -n 1 "$WORK/ledger-verify.txt")" >> "$META"
fi

# ---------------------------------------------------------------- report
stop_server "$NGINX_PID"
REPORT_ARGS=("$WORK")
[ "${NO_DOC:-0}" = 1 ] || REPORT_ARGS+=(--write docs/PERFORMANCE.md)
python3 Benchmarks/report.py "${REPORT_ARGS[@]}"
log "raw results: $RESULTS (and ttfb.tsv, paced.tsv, hold.tsv, ledger.txt, meta.tsv, logs in $WORK)"
