#!/usr/bin/env bash
# What the benchmark scripts share (sourced by Benchmarks/run.sh and Benchmarks/replicas.sh): logging, servers
# in sessions of their own, ports, waiting, release builds, and nginx as the static upstream. Expects ROOT and
# WORK to be set (WORK holds logs and the binary copies).

log() { printf '[%s] %s\n' "$(date +%T)" "$*" >&2; }
die() { log "FAILED: $*"; exit 1; }

# ---------------------------------------------------------------- processes
# Every server runs in its own session (setsid): its pid is the session id, so its CPU and memory can be summed
# over all of its processes (nginx's worker, LiteLLM's workers) and the whole group stopped at once.
SERVERS=()
start_server() {  # log-file command... ; sets SERVER_PID
  setsid "${@:2}" > "$1" 2>&1 &
  SERVER_PID=$!
  SERVERS+=("$SERVER_PID")
}
stop_server() {  # pid
  local pid=$1 i
  kill -TERM -- "-$pid" 2>/dev/null || return 0
  for i in $(seq 150); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -KILL -- "-$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}
cleanup() {
  local pid
  for pid in "${SERVERS[@]}"; do stop_server "$pid"; done
  if [ -n "${BIN:-}" ]; then rm -rf "$BIN"; fi  # the binary copies; results, logs and data stay in $WORK
}
trap cleanup EXIT
trap 'exit 130' INT TERM

session_pids() { ps -o pid= -s "$1" 2>/dev/null || true; }
tree_ticks() {  # utime+stime (+ reaped children's) of every process in the session, in clock ticks
  local total=0 p s f
  for p in $(session_pids "$1"); do
    s=$(cat "/proc/$p/stat" 2>/dev/null) || continue
    s=${s##*) }
    read -r -a f <<< "$s"
    total=$(( total + f[11] + f[12] + f[13] + f[14] ))
  done
  echo "$total"
}
tree_write_bytes() {  # bytes of files the session's processes dirtied (/proc/<pid>/io write_bytes: logs, database)
  local total=0 p v
  for p in $(session_pids "$1"); do
    v=$(awk '$1 == "write_bytes:" { print $2 }' "/proc/$p/io" 2>/dev/null) || continue
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}
tree_status_kb() {  # field (VmHWM, VmRSS) summed over the session, in kB
  local total=0 p v
  for p in $(session_pids "$1"); do
    v=$(awk -v f="$2:" '$1 == f { print $2 }' "/proc/$p/status" 2>/dev/null) || continue
    total=$(( total + ${v:-0} ))
  done
  echo "$total"
}
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
wait_http() {  # pid url seconds: until url answers 2xx, or the server dies
  local i
  for i in $(seq $(( $3 * 10 ))); do
    curl -sf -o /dev/null "$2" && return 0
    kill -0 "$1" 2>/dev/null || return 1
    sleep 0.1
  done
  return 1
}

wait_idle() {  # pid seconds: until the session used < 5 % of a core for two consecutive seconds
  local i quiet=0 before after
  for i in $(seq "$2"); do
    before=$(tree_ticks "$1"); sleep 1; after=$(tree_ticks "$1")
    if (( (after - before) * 20 < CLK_TCK )); then quiet=$(( quiet + 1 )); else quiet=0; fi
    (( quiet >= 2 )) && return 0
  done
  return 1
}

# ---------------------------------------------------------------- build
build() {  # product: retried, since another engineer may be mid-edit in the shared tree
  local attempt
  for attempt in 1 2 3 4 5 6; do
    if swift build -c release --product "$1" > "$WORK/build-$1.log" 2>&1; then return 0; fi
    log "build of $1 failed (attempt $attempt; see $WORK/build-$1.log), retrying in 60 s"
    tail -n 5 "$WORK/build-$1.log" >&2
    sleep 60
  done
  die "could not build $1"
}
log "work directory: $WORK"

start_nginx() {  # sets NGINX_PID, NGINX_PORT, JSON_BASE (a chat completion as JSON) and SSE_BASE (the same as a stream)
  # ---------------------------------------------------------------- nginx, the static upstream
  if ! command -v nginx > /dev/null && [ ! -x /usr/sbin/nginx ]; then
    log "installing nginx"
    if [ "$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi
    $SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx-light > "$WORK/apt.log" 2>&1 \
      || DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq nginx >> "$WORK/apt.log" 2>&1 || die "apt-get install nginx (see $WORK/apt.log)"
  fi
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
  NGINX_PORT=$(free_port)
  NG=$WORK/nginx
  mkdir -p "$NG/logs" "$NG/tmp"
  CHAT_JSON='{"id":"chatcmpl-bench","object":"chat.completion","created":1700000000,"model":"gpt-4o-mini","choices":[{"index":0,"message":{"role":"assistant","content":"Gateways route requests."},"finish_reason":"stop"}],"usage":{"prompt_tokens":19,"completion_tokens":5,"total_tokens":24}}'
  chunk() { printf 'data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[%s]}\\n\\n' "$1"; }
  CHAT_SSE="$(chunk '{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}')"
  CHAT_SSE+="$(chunk '{"index":0,"delta":{"content":"Gateways"},"finish_reason":null}')"
  CHAT_SSE+="$(chunk '{"index":0,"delta":{"content":" route"},"finish_reason":null}')"
  CHAT_SSE+="$(chunk '{"index":0,"delta":{"content":" requests."},"finish_reason":null}')"
  CHAT_SSE+="$(chunk '{"index":0,"delta":{},"finish_reason":"stop"}')"
  CHAT_SSE+='data: {"id":"chatcmpl-bench","object":"chat.completion.chunk","created":1700000000,"model":"gpt-4o-mini","choices":[],"usage":{"prompt_tokens":19,"completion_tokens":5,"total_tokens":24}}\n\n'
  CHAT_SSE+='data: [DONE]\n\n'
  MODELS_JSON='{"object":"list","data":[{"id":"gpt-4o-mini","object":"model","created":1700000000,"owned_by":"bench"},{"id":"meta/llama-3.1-8b-instruct","object":"model","created":1700000000,"owned_by":"bench"}]}'
  USER_LINE=
  if [ "$(id -u)" = 0 ]; then USER_LINE="user root;"; fi  # as root, workers would otherwise drop to nobody
  cat > "$NG/nginx.conf" <<EOF
  $USER_LINE
  worker_processes 1;
  daemon off;
  master_process on;
  pid $NG/nginx.pid;
  error_log $NG/logs/error.log warn;
  events { worker_connections 8192; }
  http {
      access_log off;
      keepalive_requests 100000000;
      keepalive_timeout 300s;
      client_body_temp_path $NG/tmp/body;
      proxy_temp_path $NG/tmp/proxy;
      fastcgi_temp_path $NG/tmp/fastcgi;
      uwsgi_temp_path $NG/tmp/uwsgi;
      scgi_temp_path $NG/tmp/scgi;
      server {
          listen 127.0.0.1:$NGINX_PORT backlog=4096;
          server_tokens off;
          # JSON answers under /v1, the same answer as an SSE stream under /sse/v1 (nginx does not look at the body).
          location = /v1/chat/completions { default_type application/json; return 200 '$CHAT_JSON'; }
          location = /sse/v1/chat/completions {
              default_type text/event-stream;
              add_header Cache-Control no-cache;
              return 200 '$CHAT_SSE';
          }
          location = /v1/models { default_type application/json; return 200 '$MODELS_JSON'; }
          location = /sse/v1/models { default_type application/json; return 200 '$MODELS_JSON'; }
      }
  }
EOF
  "$NGINX" -t -p "$NG" -c "$NG/nginx.conf" > "$NG/test.log" 2>&1 || { cat "$NG/test.log" >&2; die "nginx config"; }
  start_server "$NG/stdout.log" "$NGINX" -p "$NG" -c "$NG/nginx.conf"
  NGINX_PID=$SERVER_PID
  wait_http "$NGINX_PID" "http://127.0.0.1:$NGINX_PORT/v1/models" 10 || die "nginx did not start (see $NG/logs/error.log)"
  JSON_BASE=http://127.0.0.1:$NGINX_PORT/v1
  SSE_BASE=http://127.0.0.1:$NGINX_PORT/sse/v1
  log "nginx on port $NGINX_PORT"
}
