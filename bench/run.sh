#!/usr/bin/env bash
# Switchyard request-path benchmark. See bench/README.md for what is measured and why.
#
#   bench/run.sh [--duration S] [--conns "1 16 256"] [--bin PATH] [--only a,b,c,...]
#
# Cells: a / a-sse  wrk -> upstream nginx directly (JSON / SSE)
#        b / b-sse  wrk -> nginx proxy_pass (keepalive upstream) -> upstream nginx
#        c / c-sse  wrk -> Switchyard fast path (openai-compatible provider) -> upstream nginx
#        c-noledger the same as c, on a second gateway started with storage: {ledger: off}
#        c-tiers    the same as c, through a route with core, secondary and fallback tiers
#        c-tenant   the same as c, on a third gateway with tenants: virtual key, budgets and rate
#                   limits (tenant, key, route) on every request, none of them ever refusing
#        c-redact   the same as c-tenant, for a tenant whose policy redacts email/phone/card
#                   (the request is parsed, redacted and re-encoded instead of byte-patched)
#        t-anth / t-anth-sse  OpenAI in -> Anthropic Messages out (JSON / SSE)
#        t-bedrock-sse        OpenAI in -> Bedrock ConverseStream out (binary event stream)
# Everything listens on 127.0.0.1 only; every process started here is stopped on exit.
set -euo pipefail

ORIG_ARGS=("$@")
ORIG_PWD=$PWD
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

# ---------------------------------------------------------------------------------------------
# Options
DURATION=10
WARMUP=2
CONNS="1 16 256"
BIN=build/release/bin/switchyard
ONLY=""
CPU_SUT=0
CPU_LOAD=1
API_KEY=""
WRITE_README=1
KEEP_TMP=0
FIXTURES=""
ALL_CELLS=(a a-sse b b-sse c c-noledger c-tiers c-tenant c-redact c-sse t-anth t-anth-sse t-bedrock-sse)

usage() {
  cat <<'EOF'
usage: bench/run.sh [options]
  --duration S       seconds measured per cell and connection count (default 10)
  --warmup S         warm-up seconds before each measurement, responses checked (default 2)
  --conns "1 16 256" connection counts (space- or comma-separated)
  --bin PATH         Switchyard binary (default build/release/bin/switchyard)
  --only LIST        comma-separated cells (default: all): a,a-sse,b,b-sse,c,c-noledger,
                     c-tiers,c-tenant,c-redact,c-sse,t-anth,t-anth-sse,t-bedrock-sse
  --cpu-sut N        CPU for the process under test (default 0)
  --cpu-load N       CPU for wrk and the upstream nginx (default 1)
  --api-key KEY      send "Authorization: Bearer KEY" to the cell under test (default: none;
                     c-tenant and c-redact always send the keys the harness creates for them)
  --fixtures DIR     OpenAI fixtures dir (default: $SY_FIXTURES, tests/fixtures/openai,
                     /work/shared/fixtures/openai)
  --no-write         print the results, do not update bench/README.md
  --keep-tmp         keep the temp dir (configs, logs, raw wrk output)
EOF
}

die() { echo "run.sh: error: $*" >&2; exit 2; }
need_arg() { [[ $# -ge 2 && -n "$2" ]] || die "$1 needs a value"; }

while [[ $# -gt 0 ]]; do
  case "$1" in
    --duration) need_arg "$@"; DURATION=$2; shift 2 ;;
    --warmup) need_arg "$@"; WARMUP=$2; shift 2 ;;
    --conns) need_arg "$@"; CONNS=$2; shift 2 ;;
    --bin) need_arg "$@"; BIN=$2; shift 2 ;;
    --only) need_arg "$@"; ONLY=$2; shift 2 ;;
    --cpu-sut) need_arg "$@"; CPU_SUT=$2; shift 2 ;;
    --cpu-load) need_arg "$@"; CPU_LOAD=$2; shift 2 ;;
    --api-key) need_arg "$@"; API_KEY=$2; shift 2 ;;
    --fixtures) need_arg "$@"; FIXTURES=$2; shift 2 ;;
    --no-write) WRITE_README=0; shift ;;
    --keep-tmp) KEEP_TMP=1; shift ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown option: $1" ;;
  esac
done

# Paths given on the command line are relative to where the script was started.
[[ $BIN == /* || $BIN == build/release/bin/switchyard ]] || BIN=$ORIG_PWD/$BIN
[[ -z $FIXTURES || $FIXTURES == /* ]] || FIXTURES=$ORIG_PWD/$FIXTURES

[[ $DURATION =~ ^[1-9][0-9]*$ ]] || die "--duration must be a positive integer (seconds)"
[[ $WARMUP =~ ^[0-9]+$ ]] || die "--warmup must be a non-negative integer (seconds)"
(( DURATION <= 600 )) || die "--duration is capped at 600 s to keep a run bounded"
(( WARMUP <= 60 )) || die "--warmup is capped at 60 s"
read -ra CONN_LIST <<<"${CONNS//,/ }"
[[ ${#CONN_LIST[@]} -gt 0 ]] || die "--conns is empty"
for n in "${CONN_LIST[@]}"; do
  [[ $n =~ ^[1-9][0-9]*$ ]] && (( n <= 10000 )) || die "bad connection count: $n"
done

CELLS=()
if [[ -z $ONLY ]]; then
  CELLS=("${ALL_CELLS[@]}")
else
  IFS=', ' read -ra want <<<"$ONLY"
  for w in "${ALL_CELLS[@]}"; do   # keep the canonical order
    for x in "${want[@]}"; do [[ $x == "$w" ]] && CELLS+=("$w"); done
  done
  for x in "${want[@]}"; do
    [[ -z $x ]] && continue
    [[ " ${ALL_CELLS[*]} " == *" $x "* ]] || die "unknown cell '$x' (cells: ${ALL_CELLS[*]})"
  done
fi
[[ ${#CELLS[@]} -gt 0 ]] || die "no cells selected"
has_cell() { local c; for c in "${CELLS[@]}"; do [[ $c == "$1"* ]] && return 0; done; return 1; }
has_exact() { local c; for c in "${CELLS[@]}"; do [[ $c == "$1" ]] && return 0; done; return 1; }
# Gateway processes: the main one (ledger on) serves c, c-tiers, c-sse and t-*; a second one,
# identical except for storage: {ledger: off}, serves c-noledger; a third one, the main config
# plus tenants and route limits (its own ledger), serves c-tenant and c-redact.
needs_gw() { has_exact c || has_exact c-tiers || has_exact c-sse || has_cell t; }
needs_gw_noledger() { has_exact c-noledger; }
needs_gw_tenants() { has_exact c-tenant || has_exact c-redact; }

# ---------------------------------------------------------------------------------------------
# Tools and machine checks
for tool in nginx wrk taskset jq curl awk getconf ss timeout lscpu; do
  command -v "$tool" >/dev/null 2>&1 || [[ $tool == nginx && -x /usr/sbin/nginx ]] ||
    die "'$tool' not found (Debian: apt-get install nginx-light wrk jq curl util-linux iproute2)"
done
NGINX=$(command -v nginx 2>/dev/null || echo /usr/sbin/nginx)

allowed=$(taskset -pc $$ | sed 's/.*: //')
cpu_allowed() {  # is CPU $1 in our affinity list (e.g. "0-1" or "0,2-3")?
  local part lo hi
  IFS=',' read -ra parts <<<"$allowed"
  for part in "${parts[@]}"; do
    lo=${part%-*}; hi=${part#*-}
    (( $1 >= lo && $1 <= hi )) && return 0
  done
  return 1
}
[[ $CPU_SUT =~ ^[0-9]+$ && $CPU_LOAD =~ ^[0-9]+$ ]] || die "--cpu-sut/--cpu-load must be CPU numbers"
[[ $CPU_SUT != "$CPU_LOAD" ]] || die "--cpu-sut and --cpu-load must differ"
cpu_allowed "$CPU_SUT" || die "CPU $CPU_SUT is not available to this process (allowed: $allowed)"
cpu_allowed "$CPU_LOAD" || die "CPU $CPU_LOAD is not available to this process (allowed: $allowed)"

CLK_TCK=$(getconf CLK_TCK)

if has_cell c || has_cell t; then
  [[ -x $BIN ]] || die "Switchyard binary '$BIN' not found or not executable (build it, pass --bin, or use --only a,a-sse,b,b-sse)"
fi

if [[ -z $FIXTURES ]]; then
  for d in "${SY_FIXTURES:-}" tests/fixtures/openai "$ROOT/../shared/fixtures/openai" \
           /work/shared/fixtures/openai; do
    [[ -n $d && -f $d/chat-basic.response.json ]] && { FIXTURES=$d; break; }
  done
fi
for f in chat-basic.request.json chat-basic.response.json chat-streaming.request.json \
         stream-text-include-usage.sse; do
  [[ -f ${FIXTURES:-/nonexistent}/$f ]] || die "fixture $f not found (pass --fixtures DIR)"
done
# The translation cells (t-*) read the Anthropic and Bedrock fixtures next to the OpenAI ones.
FIX_ANTH=$(cd "$FIXTURES/.." && pwd)/anthropic
FIX_BEDROCK=$(cd "$FIXTURES/.." && pwd)/bedrock
if has_cell t; then
  for f in "$FIX_ANTH/msg-text.response.json" "$FIX_ANTH/stream-basic-text.sse" \
           "$FIX_BEDROCK/converse-stream-text.response.eventstream"; do
    [[ -f $f ]] || die "fixture $f not found (the t-* cells expect anthropic/ and bedrock/ next to --fixtures)"
  done
fi

# Bounded run time: estimate it and say so up front.
per_run=$(( DURATION + WARMUP + 4 ))
EST=$(( ${#CELLS[@]} * ${#CONN_LIST[@]} * per_run + 20 ))
echo "run.sh: cells: ${CELLS[*]}; conns: ${CONN_LIST[*]}; ${DURATION}s each (+${WARMUP}s warm-up); about ${EST}s" >&2

# ---------------------------------------------------------------------------------------------
# Temp dir, process bookkeeping, cleanup
TMP=$(mktemp -d "${TMPDIR:-/tmp}/sy-bench.XXXXXX")
chmod 755 "$TMP"   # nginx workers may run as 'nobody' when we are root; they must read the bodies
STARTED=()   # live pids we started (nginx masters, gateway, wrk); nothing else is ever signalled.
             # A pid leaves the list as soon as it has been reaped, so a recycled pid is never hit.
FAILED=0
track() { STARTED+=("$1"); }
untrack() {
  local keep=() p
  for p in "${STARTED[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
  STARTED=("${keep[@]}")
}

alive() {  # running (a zombie that has not been reaped yet counts as dead)
  [[ -n ${1:-} ]] && kill -0 "$1" 2>/dev/null || return 1
  local st
  st=$(awk '{ sub(/.*\) /, ""); print $1 }' /proc/"$1"/stat 2>/dev/null) || return 1
  [[ -n $st && $st != Z ]]
}
declare -A EXIT_DESC=()
note_exit() {  # record how a child of ours ended, e.g. "exit status 3" or "killed by SIGSEGV"
  [[ -n ${EXIT_DESC[$1]:-} ]] && return 0
  local rc=0
  wait "$1" 2>/dev/null || rc=$?   # must run in this shell, not in $(...)
  if (( rc == 127 )); then EXIT_DESC[$1]="exit status unknown"
  elif (( rc > 128 )); then EXIT_DESC[$1]="killed by SIG$(kill -l $(( rc - 128 )) 2>/dev/null || echo $(( rc - 128 )))"
  else EXIT_DESC[$1]="exit status $rc"; fi
}

children_of() {  # direct children of pid $1 (nginx workers of a master)
  cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | grep -E '^[0-9]+$' || true
}

stop_pid() {  # TERM, wait up to 5 s, then KILL (and the nginx workers it had, now orphaned)
  local pid=$1 kids i killed=0
  if ! alive "$pid"; then wait "$pid" 2>/dev/null || true; untrack "$pid"; return 0; fi
  kids=$(children_of "$pid")
  kill -TERM "$pid" 2>/dev/null || true
  for (( i = 0; i < 50; i++ )); do alive "$pid" || break; sleep 0.1; done
  if alive "$pid"; then
    echo "run.sh: pid $pid did not stop on TERM; sending KILL" >&2
    kill -KILL "$pid" 2>/dev/null || true
    killed=1
  fi
  wait "$pid" 2>/dev/null || true
  untrack "$pid"
  if (( killed )); then
    for k in $kids; do
      [[ $(cat /proc/"$k"/comm 2>/dev/null) == nginx ]] && kill -KILL "$k" 2>/dev/null || true
    done
  fi
  return 0
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  local i
  local todo=("${STARTED[@]}")
  for (( i = ${#todo[@]} - 1; i >= 0; i-- )); do stop_pid "${todo[i]}"; done
  if (( KEEP_TMP )) || (( rc != 0 )) || (( FAILED )); then
    echo "run.sh: temp dir kept for inspection: $TMP" >&2
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

port_in_use() { [[ -n $(ss -Htan "( sport = :$1 )" 2>/dev/null) ]]; }
free_port() {
  local p i
  for (( i = 0; i < 200; i++ )); do
    p=$(( 20000 + (RANDOM * 32768 + RANDOM) % 40000 ))
    port_in_use "$p" || { echo "$p"; return 0; }
  done
  die "no free port found on 127.0.0.1"
}

wait_listening() {  # pid port seconds: wait until 127.0.0.1:port accepts, or the pid died
  local pid=$1 port=$2 i
  for (( i = 0; i < $3 * 10; i++ )); do
    alive "$pid" || return 1
    (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Bodies, generated from the fixtures
mkdir -p "$TMP/www/v1/chat" "$TMP/www/s/v1/chat" "$TMP/req"
# Non-streaming answer: the recorded chat.completion, compacted (one line, ~770 bytes).
jq -c . "$FIXTURES/chat-basic.response.json" | tr -d '\n' >"$TMP/www/v1/chat/completions"
# Streaming answer: the first 20 chunk events of a recorded stream (role + content deltas), its
# finish_reason chunk, its usage chunk (choices: []) and data: [DONE]. Each event is validated JSON.
awk '
  /^data: / {
    d = substr($0, 7)
    if (d == "[DONE]") next
    if (index(d, "\"usage\":{") && index(d, "\"choices\":[]")) { usage = $0; next }
    if (index(d, "\"finish_reason\":\"stop\"")) { fin = $0; next }
    if (n < 20) ev[n++] = $0
  }
  END {
    if (n < 20 || fin == "" || usage == "") { print "fixture lacks chunks/finish/usage" > "/dev/stderr"; exit 1 }
    for (i = 0; i < n; i++) printf "%s\n\n", ev[i]
    printf "%s\n\n%s\n\ndata: [DONE]\n\n", fin, usage
  }' "$FIXTURES/stream-text-include-usage.sse" >"$TMP/sse.body"
grep '^data: {' "$TMP/sse.body" | cut -c7- | jq -e . >/dev/null || die "generated SSE body is not valid JSON events"
cp "$TMP/sse.body" "$TMP/www/s/v1/chat/completions"
cp "$TMP/sse.body" "$TMP/www/v1/stream"
chmod -R a+rX "$TMP/www"
# Requests: the recorded request bodies with the route name as model; streaming asks for usage.
jq -c '.model = "bench"' "$FIXTURES/chat-basic.request.json" >"$TMP/req/chat.json"
jq -c '.model = "bench-stream" | .stream = true | .stream_options = {include_usage: true}' \
  "$FIXTURES/chat-streaming.request.json" >"$TMP/req/stream.json"
# Translation cells. Anthropic: POST /v1/messages answers the recorded Messages response,
# compacted; /as/v1/messages (the base_url of the streaming provider is .../as) answers the
# recorded SSE stream with the blank line that ends its last event appended. Bedrock: the
# recorded ConverseStream body, byte for byte, under /model/<model id>/converse-stream.
BEDROCK_MODEL=us.amazon.nova-micro-v1:0   # the recorded model id; sent as us.amazon.nova-micro-v1%3A0
if has_cell t; then
  mkdir -p "$TMP/www/v1" "$TMP/www/as/v1" "$TMP/www/model/$BEDROCK_MODEL"
  jq -c . "$FIX_ANTH/msg-text.response.json" | tr -d '\n' >"$TMP/www/v1/messages"
  { cat "$FIX_ANTH/stream-basic-text.sse"; printf '\n\n'; } >"$TMP/www/as/v1/messages"
  grep '^data: {' "$TMP/www/as/v1/messages" | cut -c7- | jq -e . >/dev/null ||
    die "Anthropic SSE body is not valid JSON events"
  cp "$FIX_BEDROCK/converse-stream-text.response.eventstream" "$TMP/www/model/$BEDROCK_MODEL/converse-stream"
  chmod -R a+rX "$TMP/www"
  jq -c '.model = "bench-anth"' "$FIXTURES/chat-basic.request.json" >"$TMP/req/anth.json"
  jq -c '.model = "bench-anth-stream" | .stream = true | .stream_options = {include_usage: true}' \
    "$FIXTURES/chat-streaming.request.json" >"$TMP/req/anth-stream.json"
  jq -c '.model = "bench-bedrock-stream" | .stream = true | .stream_options = {include_usage: true}' \
    "$FIXTURES/chat-streaming.request.json" >"$TMP/req/bedrock-stream.json"
fi
jq -c '.model = "bench-tiers"' "$FIXTURES/chat-basic.request.json" >"$TMP/req/tiers.json"
# c-tenant sends the request of c (with its virtual key). c-redact sends it with an email address
# and a phone number added to the user message, so its tenant's policy has two values to redact.
# Its check sends the same body to route bench-redact-check, whose upstream keeps what it gets.
REDACT_EMAIL=jane.doe@example.com REDACT_PHONE="+1 415 555 2671"
jq -c --arg e "$REDACT_EMAIL" --arg p "$REDACT_PHONE" \
  '.model = "bench" | .messages[0].content += " I am \($e), call me at \($p)."' \
  "$FIXTURES/chat-basic.request.json" >"$TMP/req/redact.json"
grep -qF "$REDACT_EMAIL" "$TMP/req/redact.json" && grep -qF "$REDACT_PHONE" "$TMP/req/redact.json" ||
  die "could not build the c-redact request from chat-basic.request.json"
jq -c '.model = "bench-redact-check"' "$TMP/req/redact.json" >"$TMP/req/redact-check.json"
ANTH_BYTES=$(wc -c 2>/dev/null <"$TMP/www/v1/messages" || echo 0)
ANTH_SSE_BYTES=$(wc -c 2>/dev/null <"$TMP/www/as/v1/messages" || echo 0)
ANTH_SSE_EVENTS=$(grep -c '^data: ' "$TMP/www/as/v1/messages" 2>/dev/null || echo 0)
BR_BYTES=$(wc -c 2>/dev/null <"$TMP/www/model/$BEDROCK_MODEL/converse-stream" || echo 0)
SSE_EVENTS=$(grep -c '^data: ' "$TMP/sse.body")
JSON_BYTES=$(wc -c <"$TMP/www/v1/chat/completions")
SSE_BYTES=$(wc -c <"$TMP/sse.body")

# ---------------------------------------------------------------------------------------------
# Upstream nginx: fixed answers from static files (see README: why not `return 200 '...'`).
UP_DIR=$TMP/upstream
mkdir -p "$UP_DIR/tmp"

start_nginx() {  # name dir conf-writer-fn cpu -> sets NGINX_PID, NGINX_PORT
  local name=$1 dir=$2 writer=$3 cpu=$4 try port pid
  for (( try = 0; try < 5; try++ )); do
    port=$(free_port)
    "$writer" "$dir" "$port" >"$dir/nginx.conf"
    "$NGINX" -t -q -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" 2>>"$dir/error.log" ||
      { cat "$dir/error.log" >&2; die "$name: nginx config test failed"; }
    taskset -c "$cpu" "$NGINX" -p "$dir" -e "$dir/error.log" -c "$dir/nginx.conf" \
      </dev/null >>"$dir/stdout.log" 2>&1 &
    pid=$!
    track "$pid"
    if wait_listening "$pid" "$port" 10; then
      NGINX_PID=$pid NGINX_PORT=$port
      return 0
    fi
    stop_pid "$pid"
    echo "run.sh: $name did not come up on port $port (retrying); log tail:" >&2
    tail -n 3 "$dir/error.log" >&2 || true
  done
  die "$name: could not start nginx"
}

common_nginx_main() {  # dir
  cat <<EOF
worker_processes 1;
daemon off;
master_process on;
pid $1/nginx.pid;
error_log $1/error.log warn;
worker_rlimit_nofile 16384;
events { worker_connections 8192; }
EOF
}
common_nginx_http() {  # dir
  cat <<EOF
  client_body_temp_path $1/tmp/body;
  proxy_temp_path $1/tmp/proxy;
  fastcgi_temp_path $1/tmp/fastcgi;
  uwsgi_temp_path $1/tmp/uwsgi;
  scgi_temp_path $1/tmp/scgi;
  server_tokens off;
  tcp_nodelay on;
  keepalive_timeout 300s;
  keepalive_requests 1000000;
EOF
}

write_upstream_conf() {  # dir port
  common_nginx_main "$1"
  cat <<EOF
http {
$(common_nginx_http "$1")
  access_log off;
  sendfile on;
  etag off;
  open_file_cache max=16 inactive=1h;
  open_file_cache_valid 1h;
  server {
    listen 127.0.0.1:$2;
    root $TMP/www;
    # The static handler answers POST with 405; error_page turns that into an internal GET of the
    # same URI, served from the file with status 200 (the request body is discarded first).
    location = /v1/chat/completions   { default_type application/json;  error_page 405 =200 \$uri; }
    location = /v1/stream             { default_type text/event-stream; error_page 405 =200 \$uri; }
    location = /s/v1/chat/completions { default_type text/event-stream; error_page 405 =200 \$uri; }
    # Translation cells (t-*): Anthropic Messages (JSON, SSE) and Bedrock ConverseStream.
    location = /v1/messages           { default_type application/json;  error_page 405 =200 \$uri; }
    location = /as/v1/messages        { default_type text/event-stream; error_page 405 =200 \$uri; }
    # \$uri is decoded (%3A -> :), so the internal GET finds www/model/<model id>/converse-stream.
    location ~ ^/model/.+/converse-stream\$ {
      default_type application/vnd.amazon.eventstream; error_page 405 =200 \$uri;
    }
    # The check of c-redact only (provider up-cap): keep each request body the gateway sends in a
    # file under tmp/body, then answer like /v1/chat/completions. Never used by a measurement.
    location = /cap/v1/chat/completions {
      client_body_in_file_only on;
      proxy_pass http://127.0.0.1:$2/v1/chat/completions;
    }
    location / { return 404; }
  }
}
EOF
}

write_proxy_conf() {  # dir port
  common_nginx_main "$1"
  cat <<EOF
http {
$(common_nginx_http "$1")
  # One JSON line per request, formatted and written like the gateway's access log (to /dev/null).
  log_format bench escape=json '{"time":"\$time_iso8601","method":"\$request_method","uri":"\$uri",'
      '"status":\$status,"bytes":\$bytes_sent,"upstream":"\$upstream_addr",'
      '"upstream_status":"\$upstream_status","request_time":\$request_time,'
      '"upstream_time":"\$upstream_response_time"}';
  access_log /dev/null bench;
  upstream up {
    server 127.0.0.1:$UP_PORT;
    keepalive 64;
    keepalive_requests 1000000;
    keepalive_timeout 300s;
  }
  server {
    listen 127.0.0.1:$2;
    proxy_http_version 1.1;
    proxy_set_header Connection "";
    proxy_set_header Authorization "Bearer sk-bench";
    location = /v1/chat/completions { proxy_pass http://up; }
    location = /v1/stream { proxy_pass http://up; proxy_buffering off; }
    location / { return 404; }
  }
}
EOF
}

start_nginx upstream "$UP_DIR" write_upstream_conf "$CPU_LOAD"
UP_PID=$NGINX_PID UP_PORT=$NGINX_PORT
echo "run.sh: upstream nginx pid $UP_PID on 127.0.0.1:$UP_PORT (CPU $CPU_LOAD)" >&2

PX_PID="" PX_PORT=""
if has_cell b; then
  PX_DIR=$TMP/proxy
  mkdir -p "$PX_DIR/tmp"
  start_nginx proxy "$PX_DIR" write_proxy_conf "$CPU_SUT"
  PX_PID=$NGINX_PID PX_PORT=$NGINX_PORT
  echo "run.sh: proxy nginx pid $PX_PID on 127.0.0.1:$PX_PORT (CPU $CPU_SUT)" >&2
fi

# All gateways get the same providers, prices and routes. The main gateway keeps the default
# ledger on, written out explicitly (SQLite in the temp dir); the second one, for c-noledger, runs
# with storage: {ledger: off}; the third one, for c-tenant and c-redact, has its own ledger and
# adds two tenants, limits on route bench, and (for c-redact's check only) provider up-cap and
# route bench-redact-check.
#
# Tenancy limits that never refuse in a run: the largest rpm and tpm the config accepts (1e9
# requests, 1e12 tokens per minute), a million requests in flight, and the largest budgets it
# accepts, $1,000,000 a day and a month, against about $0.00023 per request at the price below
# (a 10 s cell at 20,000 req/s spends about $46).
TENANT_LIMITS='{rpm: 1000000000, tpm: 1000000000000, concurrency: 1000000}'
TENANT_BUDGET='{usd_per_day: 1000000, usd_per_month: 1000000}'
write_gateway_conf() {  # port ledger-spec tenants(0|1)
  cat <<EOF
server: {listen: "127.0.0.1:$1", workers: 1}
storage: {ledger: "$2"}
providers:
  up: {type: openai-compatible, base_url: "http://127.0.0.1:$UP_PORT/v1", api_key: "sk-bench"}
  up-sse: {type: openai-compatible, base_url: "http://127.0.0.1:$UP_PORT/s/v1", api_key: "sk-bench"}
  # c-tiers: the secondary and fallback tiers point at the same upstream as the core tier.
  up-secondary: {type: openai-compatible, base_url: "http://127.0.0.1:$UP_PORT/v1", api_key: "sk-bench"}
  up-fallback: {type: openai-compatible, base_url: "http://127.0.0.1:$UP_PORT/v1", api_key: "sk-bench"}
  # t-*: translation to Anthropic Messages and to Bedrock ConverseStream (SigV4, dummy keys).
  anth: {type: anthropic, base_url: "http://127.0.0.1:$UP_PORT", api_key: "sk-ant-bench"}
  anth-sse: {type: anthropic, base_url: "http://127.0.0.1:$UP_PORT/as", api_key: "sk-ant-bench"}
  br: {type: bedrock, base_url: "http://127.0.0.1:$UP_PORT", region: us-east-1,
       aws_access_key_id: "AKIDEXAMPLE", aws_secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"}
EOF
  if (( $3 )); then
    cat <<EOF
  # c-redact's check only: the upstream keeps the request body it receives (location /cap/).
  up-cap: {type: openai-compatible, base_url: "http://127.0.0.1:$UP_PORT/cap/v1", api_key: "sk-bench"}
EOF
  fi
  cat <<EOF
# A price for the fast-path target, so every request of c and c-tenant has a cost (and a
# tenant's spend grows during the run, as it would in production).
catalog:
  - {target: up/m, price: {input: "0.15", output: "0.60"}}
routes:
  - name: bench
    core: [{target: up/m}]
EOF
  if (( $3 )); then echo "    limits: $TENANT_LIMITS"; fi
  cat <<EOF
  - name: bench-stream
    core: [{target: up-sse/m}]
  - name: bench-tiers
    core: [{target: up/m}]
    secondary: [{target: up-secondary/m}]
    fallback: [{target: up-fallback/m}]
  - name: bench-anth
    core: [{target: anth/claude-3-opus-20240229}]
  - name: bench-anth-stream
    core: [{target: anth-sse/claude-3-opus-latest}]
  - name: bench-bedrock-stream
    core: [{target: "br/$BEDROCK_MODEL"}]
EOF
  if (( $3 )); then
    cat <<EOF
  - name: bench-redact-check
    core: [{target: up-cap/m}]
# c-tenant (tenant bench) and c-redact (tenant bench-redact): every request checks its virtual
# key and the budgets of its tenant and its key, and reserves and settles rate limits in three
# scopes (tenant, key, route bench).
tenants:
  - name: bench
    limits: $TENANT_LIMITS
    key_limits: $TENANT_LIMITS
    budget: $TENANT_BUDGET
    key_budget: $TENANT_BUDGET
  - name: bench-redact
    limits: $TENANT_LIMITS
    key_limits: $TENANT_LIMITS
    budget: $TENANT_BUDGET
    key_budget: $TENANT_BUDGET
    policy: {redact: [email, phone, card]}
EOF
  fi
}

# Virtual keys for the tenants gateway, created with the CLI in its ledger before it starts (the
# gateway reads the key table at start-up). They are kept only in shell variables.
KEY_TENANT="" KEY_REDACT=""
create_tenant_keys() {  # config log -> KEY_TENANT, KEY_REDACT; status 1 on failure
  local cfg=$1 log=$2
  if KEY_TENANT=$(timeout 30 "$BIN" keys create --config "$cfg" --tenant bench --name bench 2>>"$log") &&
     KEY_REDACT=$(timeout 30 "$BIN" keys create --config "$cfg" --tenant bench-redact --name bench 2>>"$log") &&
     [[ -n $KEY_TENANT && -n $KEY_REDACT ]]; then
    return 0
  fi
  KEY_TENANT="" KEY_REDACT=""
  return 1
}

start_gateway() {  # name ledger-spec tenants(0|1) -> GW_PID, GW_PORT (empty + GW_ERR on failure); config $TMP/<name>.yaml, log $TMP/<name>.stderr
  local name=$1 ledger=$2 tenants=$3 cfg=$TMP/$1.yaml err=$TMP/$1.stderr started=0 try i l port pid
  GW_PID="" GW_PORT="" GW_ERR=""
  for (( try = 0; try < 3 && !started; try++ )); do
    port=$(free_port)
    write_gateway_conf "$port" "$ledger" "$tenants" >"$cfg"
    : >"$err"
    if (( tenants )) && [[ -z $KEY_TENANT ]] && ! create_tenant_keys "$cfg" "$TMP/$name.keys.log"; then
      # Not fatal either: the cells of this gateway are marked FAIL with this text.
      FAILED=1
      GW_ERR="$name: '$BIN keys create --config $cfg' failed: $(tail -n 5 "$TMP/$name.keys.log" | tr '\n' ' ')"
      echo "run.sh: *** $GW_ERR" >&2
      return 1
    fi
    taskset -c "$CPU_SUT" "$BIN" serve --config "$cfg" </dev/null >/dev/null 2>"$err" &
    pid=$!
    track "$pid"
    for (( i = 0; i < 150; i++ )); do   # up to 15 s for "listening on 127.0.0.1:PORT"
      if l=$(grep -Eo 'listening on 127\.0\.0\.1:[0-9]+' "$err" | head -n1); [[ -n $l ]]; then
        port=${l##*:}; started=1; break
      fi
      alive "$pid" || break
      sleep 0.1
    done
    if (( started )) && ! wait_listening "$pid" "$port" 5; then started=0; fi
    if (( ! started )); then
      echo "run.sh: $name did not start (try $((try + 1))); stderr:" >&2
      tail -n 20 "$err" >&2 || true
      stop_pid "$pid"
    fi
  done
  if (( ! started )); then
    # Not fatal: its cells are marked FAIL with this text; the other cells still run.
    FAILED=1
    GW_ERR="$name did not start ($BIN serve --config $cfg); stderr: $(tail -n 5 "$err" | tr '\n' ' ')"
    echo "run.sh: *** $GW_ERR" >&2
    return 1
  fi
  GW_PID=$pid GW_PORT=$port
  local extra=""
  (( tenants )) && extra=", tenants bench and bench-redact (one virtual key each)"
  echo "run.sh: $name pid $pid on 127.0.0.1:$port (CPU $CPU_SUT), storage.ledger: $ledger$extra" >&2
}

SY_PID="" SY_PORT="" SY_EXIT="" SY_ERR=""
if needs_gw; then
  start_gateway switchyard "sqlite:$TMP/ledger.db" 0 || true
  SY_PID=$GW_PID SY_PORT=$GW_PORT SY_ERR=$GW_ERR
fi
SN_PID="" SN_PORT="" SN_EXIT="" SN_ERR=""
if needs_gw_noledger; then
  start_gateway switchyard-noledger off 0 || true
  SN_PID=$GW_PID SN_PORT=$GW_PORT SN_ERR=$GW_ERR
fi
ST_PID="" ST_PORT="" ST_EXIT="" ST_ERR=""
if needs_gw_tenants; then
  start_gateway switchyard-tenants "sqlite:$TMP/ledger-tenants.db" 1 || true
  ST_PID=$GW_PID ST_PORT=$GW_PORT ST_ERR=$GW_ERR
fi

# The upstream must answer the translation cells' paths with the fixture bytes (harness check).
if has_cell t; then
  upstream_check() {  # path want-file want-content-type
    local got=$TMP/upcheck.body code ctype
    read -r code ctype < <(curl -sS -o "$got" -w '%{http_code} %{content_type}\n' --max-time 10 \
      -H 'Content-Type: application/json' --data-binary '{}' "http://127.0.0.1:$UP_PORT$1" || echo "000 -")
    [[ $code == 200 && $ctype == "$3"* ]] && cmp -s "$got" "$2" ||
      die "upstream nginx answers $1 with HTTP $code '$ctype', not the fixture $2 as $3"
  }
  upstream_check /v1/messages "$TMP/www/v1/messages" application/json
  upstream_check /as/v1/messages "$TMP/www/as/v1/messages" text/event-stream
  upstream_check "/model/${BEDROCK_MODEL//:/%3A}/converse-stream" \
    "$TMP/www/model/$BEDROCK_MODEL/converse-stream" application/vnd.amazon.eventstream
fi

# ---------------------------------------------------------------------------------------------
# Cells
cell_port() {
  case $1 in
    a*) echo "$UP_PORT" ;; b*) echo "$PX_PORT" ;; c-noledger) echo "$SN_PORT" ;;
    c-tenant|c-redact) echo "$ST_PORT" ;; c*|t*) echo "$SY_PORT" ;;
  esac
}
cell_pid() {
  case $1 in
    a*) echo "$UP_PID" ;; b*) echo "$PX_PID" ;; c-noledger) echo "$SN_PID" ;;
    c-tenant|c-redact) echo "$ST_PID" ;; c*|t*) echo "$SY_PID" ;;
  esac
}
cell_gw_err() {  # why the gateway of a cell did not start
  case $1 in c-noledger) echo "$SN_ERR" ;; c-tenant|c-redact) echo "$ST_ERR" ;; *) echo "$SY_ERR" ;; esac
}
# The bearer token of a cell: c-tenant and c-redact use their tenant's virtual key, whatever
# --api-key says; every other cell gets --api-key (if any).
cell_auth() {
  case $1 in c-tenant) echo "$KEY_TENANT" ;; c-redact) echo "$KEY_REDACT" ;; *) echo "$API_KEY" ;; esac
}
cell_path() {
  case $1 in
    a-sse|b-sse) echo /v1/stream ;;
    *) echo /v1/chat/completions ;;
  esac
}
cell_body() {
  case $1 in
    c-tiers) echo "$TMP/req/tiers.json" ;;
    c-redact) echo "$TMP/req/redact.json" ;;
    t-anth) echo "$TMP/req/anth.json" ;;
    t-anth-sse) echo "$TMP/req/anth-stream.json" ;;
    t-bedrock-sse) echo "$TMP/req/bedrock-stream.json" ;;
    *-sse) echo "$TMP/req/stream.json" ;;
    *) echo "$TMP/req/chat.json" ;;
  esac
}
cell_expect() { [[ $1 == *-sse ]] && echo 'data: [DONE]' || echo '"object":"chat.completion"'; }
cell_desc() {
  case $1 in
    a) echo "a: direct, upstream nginx (JSON)" ;;
    a-sse) echo "a-sse: direct, upstream nginx (SSE)" ;;
    b) echo "b: nginx proxy_pass (JSON)" ;;
    b-sse) echo "b-sse: nginx proxy_pass (SSE)" ;;
    c) echo "c: Switchyard fast path (JSON)" ;;
    c-sse) echo "c-sse: Switchyard fast path (SSE)" ;;
    c-noledger) echo "c-noledger: as c, gateway with storage.ledger off" ;;
    c-tiers) echo "c-tiers: as c, route with core/secondary/fallback tiers" ;;
    c-tenant) echo "c-tenant: as c, with a virtual key, budgets and tenant/key/route rate limits" ;;
    c-redact) echo "c-redact: as c-tenant, tenant policy redacts email/phone/card in messages" ;;
    t-anth) echo "t-anth: OpenAI in, Anthropic Messages out (JSON)" ;;
    t-anth-sse) echo "t-anth-sse: OpenAI in, Anthropic Messages out (SSE)" ;;
    t-bedrock-sse) echo "t-bedrock-sse: OpenAI in, Bedrock ConverseStream out (SSE)" ;;
  esac
}
sut_cpu() { [[ $1 == a* ]] && echo "$CPU_LOAD" || echo "$CPU_SUT"; }

sut_pids() {  # the process under test and its children (nginx: master + worker)
  local pid
  pid=$(cell_pid "$1")
  echo "$pid"
  children_of "$pid"
}

proc_ticks() {  # utime+stime (clock ticks) summed over the given pids
  local total=0 pid s f
  for pid in "$@"; do
    s=$(<"/proc/$pid/stat") || return 1
    s=${s##*) }          # drop "pid (comm) "; comm may contain spaces
    read -ra f <<<"$s"   # f[0] is field 3 (state), so utime (14) is f[11], stime (15) is f[12]
    total=$(( total + f[11] + f[12] ))
  done
  echo "$total"
}

cpu_line() {  # "busy total steal" ticks of one CPU from /proc/stat
  awk -v c="cpu$1" '$1 == c {
      t = 0; for (i = 2; i <= 9; i++) t += $i   # user..steal (guest is inside user)
      print t - $5 - $6, t, $9; exit }' /proc/stat
}

# One curl request per cell before anything else: status, content type and body must be right.
check_cell() {
  local cell=$1 port out code ctype auth
  port=$(cell_port "$cell")
  out=$TMP/check-$cell.body
  auth=$(cell_auth "$cell")
  read -r code ctype < <(curl -sS -o "$out" -D "$TMP/check-$cell.headers" \
    -w '%{http_code} %{content_type}\n' --max-time 10 \
    -H 'Content-Type: application/json' ${auth:+-H "Authorization: Bearer $auth"} \
    --data-binary @"$(cell_body "$cell")" "http://127.0.0.1:$port$(cell_path "$cell")" 2>"$TMP/check-$cell.err" ||
    echo "000 -")
  if [[ $code != 200 ]]; then
    echo "check $cell: HTTP $code ($(head -c 300 "$TMP/check-$cell.err" "$out" 2>/dev/null | tr '\n' ' '))"
    return 1
  fi
  if [[ $cell == *-sse ]]; then
    [[ $ctype == text/event-stream* ]] || { echo "check $cell: content-type '$ctype'"; return 1; }
    grep -q '^data: \[DONE\]' "$out" || { echo "check $cell: stream has no data: [DONE]"; return 1; }
    grep -q '"usage":{' "$out" || { echo "check $cell: stream has no usage chunk"; return 1; }
  else
    [[ $ctype == application/json* ]] || { echo "check $cell: content-type '$ctype'"; return 1; }
    jq -e '.object == "chat.completion" and (.choices | length) == 1' "$out" >/dev/null ||
      { echo "check $cell: body is not the chat.completion: $(head -c 200 "$out")"; return 1; }
  fi
  if [[ $cell == a || $cell == a-sse ]]; then   # direct answers must be byte-exact
    local want=$TMP/www/v1/chat/completions
    [[ $cell == a-sse ]] && want=$TMP/sse.body
    cmp -s "$out" "$want" || { echo "check $cell: body differs from the generated fixture"; return 1; }
  fi
  if [[ $cell == c-tenant || $cell == c-redact ]]; then
    check_tenancy "$cell" "$port" || return 1
  fi
  return 0
}

# c-tenant and c-redact: the tenancy work must really happen on their requests.
#  - rate limits were applied (x-ratelimit-limit-requests on the 200) and the request was priced
#    (x-switchyard-cost-usd), so the tenant's spend grows;
#  - the same request without a key is refused with 401 (the gateway enforces keys);
#  - c-redact: the same body sent to route bench-redact-check (upstream location /cap/, which
#    keeps request bodies) reaches the upstream with [EMAIL_1] and [PHONE_1] instead of the values.
check_tenancy() {
  local cell=$1 port=$2 h=$TMP/check-$cell.headers code f got=""
  grep -qi '^x-ratelimit-limit-requests: *[0-9]' "$h" ||
    { echo "check $cell: the 200 has no x-ratelimit-limit-requests header (no rate limit applied)"; return 1; }
  grep -qi '^x-switchyard-cost-usd:' "$h" ||
    { echo "check $cell: the 200 has no x-switchyard-cost-usd header (request not priced)"; return 1; }
  code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 -H 'Content-Type: application/json' \
    --data-binary @"$(cell_body "$cell")" "http://127.0.0.1:$port$(cell_path "$cell")" 2>/dev/null || echo 000)
  [[ $code == 401 ]] || { echo "check $cell: a request without a key got HTTP $code, not 401"; return 1; }
  [[ $cell == c-redact ]] || return 0
  local body_dir=$UP_DIR/tmp/body
  code=$(curl -sS -o "$TMP/check-$cell.cap.body" -w '%{http_code}' --max-time 10 \
    -H 'Content-Type: application/json' -H "Authorization: Bearer $KEY_REDACT" \
    --data-binary @"$TMP/req/redact-check.json" "http://127.0.0.1:$port/v1/chat/completions" \
    2>/dev/null || echo 000)
  [[ $code == 200 ]] ||
    { echo "check $cell: route bench-redact-check answered HTTP $code: $(head -c 200 "$TMP/check-$cell.cap.body")"; return 1; }
  for f in "$body_dir"/*; do   # only this check uses /cap/; take the newest body all the same
    [[ -f $f ]] && { [[ -z $got || $f -nt $got ]] && got=$f; }
  done
  [[ -n $got ]] || { echo "check $cell: the upstream kept no request body under $body_dir"; return 1; }
  cp "$got" "$TMP/check-$cell.upstream-request.json"
  if grep -qF -e "$REDACT_EMAIL" -e "$REDACT_PHONE" "$got" ||
     ! grep -qF '[EMAIL_1]' "$got" || ! grep -qF '[PHONE_1]' "$got"; then
    echo "check $cell: the upstream did not get a redacted request: $(head -c 300 "$got")"
    return 1
  fi
  echo "run.sh: check $cell: upstream got $(jq -c '.messages[0].content' "$got" 2>/dev/null || head -c 200 "$got")" >&2
  return 0
}

WRK_PID=""
run_wrk() {  # cell conns seconds expect(or "") outfile -> rc
  local cell=$1 conns=$2 secs=$3 expect=$4 outfile=$5 rc=0
  BENCH_BODY=$(cell_body "$cell") BENCH_AUTH=$(cell_auth "$cell") BENCH_EXPECT=$expect \
    timeout -k 5 $(( secs + 30 )) taskset -c "$CPU_LOAD" \
    wrk -t1 -c"$conns" -d"${secs}s" --latency -s "$ROOT/bench/post.lua" \
    "http://127.0.0.1:$(cell_port "$cell")$(cell_path "$cell")" >"$outfile" 2>&1 &
  WRK_PID=$!
  track "$WRK_PID"
  wait "$WRK_PID" || rc=$?
  untrack "$WRK_PID"
  WRK_PID=""
  return "$rc"
}

kv() { sed -n "s/.*[[:space:]]$2=\([^[:space:]]*\).*/\1/p" <<<"$1"; }

RESULTS=$TMP/results.tsv
printf 'cell\tconns\trps\tcpu_us\tp50\tp99\terrors\tstatus\tsut_pct\tcpu0_other_pct\tload_busy_pct\trequests\n' >"$RESULTS"
declare -A CELL_OK=()
declare -A CELL_NOTE=()

record_fail() {  # cell conns errors-text reason
  FAILED=1
  printf '%s\t%s\t-\t-\t-\t-\t%s\tFAIL\t-\t-\t-\t-\n' "$1" "$2" "$3" >>"$RESULTS"
  echo "run.sh: *** CELL FAILED: $1 conns=$2: $4" >&2
}

for cell in "${CELLS[@]}"; do
  if [[ -z $(cell_pid "$cell") ]]; then   # its gateway did not start
    CELL_OK[$cell]=0
    CELL_NOTE[$cell]=$(cell_gw_err "$cell")
    continue
  fi
  if msg=$(check_cell "$cell"); then CELL_OK[$cell]=1; else CELL_OK[$cell]=0; CELL_NOTE[$cell]=$msg; fi
done

for conns in "${CONN_LIST[@]}"; do
  for cell in "${CELLS[@]}"; do
    tag="$cell/c$conns"
    if [[ ${CELL_OK[$cell]} != 1 ]]; then
      record_fail "$cell" "$conns" "not run" "${CELL_NOTE[$cell]}"
      continue
    fi
    pid=$(cell_pid "$cell")
    if ! alive "$pid"; then
      CELL_OK[$cell]=0; note_exit "$pid"
      CELL_NOTE[$cell]="process under test (pid $pid) had exited before this cell (${EXIT_DESC[$pid]})"
      record_fail "$cell" "$conns" "process died" "${CELL_NOTE[$cell]}"
      continue
    fi
    echo "run.sh: $tag: warm-up ${WARMUP}s" >&2
    if (( WARMUP > 0 )); then
      rc=0; run_wrk "$cell" "$conns" "$WARMUP" "$(cell_expect "$cell")" "$TMP/wrk-$cell-c$conns.warmup.txt" || rc=$?
      wl=$(grep '^BENCH_RESULT' "$TMP/wrk-$cell-c$conns.warmup.txt" || true)
      bad=$(kv " $wl" bad); checked=$(kv " $wl" checked)
      werr=0
      for k in err_connect err_read err_write err_status err_timeout; do
        v=$(kv " $wl" $k); werr=$(( werr + ${v:-0} ))
      done
      if ! alive "$pid"; then
        CELL_OK[$cell]=0; note_exit "$pid"
        CELL_NOTE[$cell]="process under test (pid $pid) exited during the $conns-connection warm-up (${EXIT_DESC[$pid]}); wrk saw: ${wl#BENCH_RESULT }"
        record_fail "$cell" "$conns" "process died" "${CELL_NOTE[$cell]}"
        continue
      fi
      if (( rc != 0 )) || [[ -z $wl ]] || [[ ${bad:-1} != 0 ]] || [[ ${checked:-0} == 0 ]] || (( werr > 0 )); then
        why=$(grep '^BENCH_FIRST_BAD' "$TMP/wrk-$cell-c$conns.warmup.txt" | cut -c17- || true)
        record_fail "$cell" "$conns" "warm-up: ${bad:-?}/${checked:-?} bad, $werr errors" \
          "warm-up wrk rc=$rc, bad responses ${bad:-?} of ${checked:-?}, wrk errors: ${wl#BENCH_RESULT }${why:+; first bad: $why}"
        CELL_NOTE[$cell]+="${CELL_NOTE[$cell]:+; }$conns conns warm-up: ${bad:-?} bad of ${checked:-?} responses, wrk: ${wl#BENCH_RESULT }${why:+; first bad: $why}"
        continue
      fi
    fi
    mapfile -t pids < <(sut_pids "$cell")
    if ! t0=$(proc_ticks "${pids[@]}" 2>/dev/null); then
      CELL_OK[$cell]=0; note_exit "$pid"
      CELL_NOTE[$cell]="process under test (pid $pid) vanished before the $conns-connection run (${EXIT_DESC[$pid]})"
      record_fail "$cell" "$conns" "process died" "${CELL_NOTE[$cell]}"
      continue
    fi
    read -r c0b c0t c0s < <(cpu_line "$CPU_SUT")
    read -r l0b l0t l0s < <(cpu_line "$CPU_LOAD")
    echo "run.sh: $tag: measuring ${DURATION}s" >&2
    rc=0; run_wrk "$cell" "$conns" "$DURATION" "" "$TMP/wrk-$cell-c$conns.txt" || rc=$?
    t1=$(proc_ticks "${pids[@]}" 2>/dev/null || echo "")
    read -r c1b c1t c1s < <(cpu_line "$CPU_SUT")
    read -r l1b l1t l1s < <(cpu_line "$CPU_LOAD")
    line=$(grep '^BENCH_RESULT' "$TMP/wrk-$cell-c$conns.txt" || true)
    if (( rc != 0 )) || [[ -z $line ]]; then
      record_fail "$cell" "$conns" "wrk failed" "wrk rc=$rc; output: $(tail -n 3 "$TMP/wrk-$cell-c$conns.txt" | tr '\n' ' ')"
      continue
    fi
    if [[ -z $t1 ]] || ! alive "$pid"; then
      CELL_OK[$cell]=0; note_exit "$pid"
      CELL_NOTE[$cell]="process under test (pid $pid) exited during the $conns-connection run (${EXIT_DESC[$pid]}); wrk saw: $(sed -n 's/^BENCH_RESULT //p' "$TMP/wrk-$cell-c$conns.txt")"
      record_fail "$cell" "$conns" "process died" "${CELL_NOTE[$cell]}"
      continue
    fi
    req=$(kv " $line" requests); dur=$(kv " $line" duration_us)
    e_conn=$(kv " $line" err_connect); e_read=$(kv " $line" err_read); e_write=$(kv " $line" err_write)
    e_status=$(kv " $line" err_status); e_to=$(kv " $line" err_timeout)
    p50=$(kv " $line" p50_us); p99=$(kv " $line" p99_us)
    nerr=$(( e_conn + e_read + e_write + e_status + e_to ))
    if (( nerr > 0 )); then
      errtxt="non2xx=$e_status connect=$e_conn read=$e_read write=$e_write timeout=$e_to"
    else
      errtxt=0
    fi
    read -r rps cpu_us sut_pct other_pct load_pct < <(awk -v r="$req" -v d="$dur" -v t="$((t1 - t0))" \
      -v hz="$CLK_TCK" -v cb="$((c1b - c0b))" -v ct="$((c1t - c0t))" -v lb="$((l1b - l0b))" \
      -v lt="$((l1t - l0t))" -v sutcpu="$(sut_cpu "$cell")" -v cs="$CPU_SUT" 'BEGIN {
        rps = (d > 0) ? r / (d / 1e6) : 0
        cpu = (r > 0) ? t * 1e6 / hz / r : 0
        sut = (ct > 0) ? 100 * t / ct : 0
        other = (ct > 0) ? 100 * (cb - (sutcpu == cs ? t : 0)) / ct : 0
        if (other < 0) other = 0
        load = (lt > 0) ? 100 * lb / lt : 0
        printf "%.0f %.1f %.0f %.0f %.0f\n", rps, cpu, sut, other, load }')
    if (( nerr > 0 )) || (( req == 0 )); then
      FAILED=1
      printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\tFAIL\t%s\t%s\t%s\t%s\n' "$cell" "$conns" "$rps" "$cpu_us" \
        "$p50" "$p99" "$errtxt" "$sut_pct" "$other_pct" "$load_pct" "$req" >>"$RESULTS"
      echo "run.sh: *** CELL FAILED: $tag: $req requests, errors: $errtxt" >&2
      sed -n '/Non-2xx\|Socket errors/p' "$TMP/wrk-$cell-c$conns.txt" >&2 || true
    else
      printf '%s\t%s\t%s\t%s\t%s\t%s\t0\tok\t%s\t%s\t%s\t%s\n' "$cell" "$conns" "$rps" "$cpu_us" \
        "$p50" "$p99" "$sut_pct" "$other_pct" "$load_pct" "$req" >>"$RESULTS"
    fi
    echo "run.sh: $tag: $rps req/s, $cpu_us CPU-us/req, p50 ${p50}us, p99 ${p99}us, errors $errtxt" >&2
  done
done

# If the gateway died at some point, show why.
if [[ -n $SY_PID ]] && ! alive "$SY_PID"; then
  FAILED=1
  note_exit "$SY_PID"; SY_EXIT=${EXIT_DESC[$SY_PID]}
  echo "run.sh: *** Switchyard (pid $SY_PID) is no longer running ($SY_EXIT); stderr tail:" >&2
  tail -n 30 "$TMP/switchyard.stderr" >&2 || true
fi
if [[ -n $SN_PID ]] && ! alive "$SN_PID"; then
  FAILED=1
  note_exit "$SN_PID"; SN_EXIT=${EXIT_DESC[$SN_PID]}
  echo "run.sh: *** Switchyard without ledger (pid $SN_PID) is no longer running ($SN_EXIT); stderr tail:" >&2
  tail -n 30 "$TMP/switchyard-noledger.stderr" >&2 || true
fi
if [[ -n $ST_PID ]] && ! alive "$ST_PID"; then
  FAILED=1
  note_exit "$ST_PID"; ST_EXIT=${EXIT_DESC[$ST_PID]}
  echo "run.sh: *** Switchyard with tenants (pid $ST_PID) is no longer running ($ST_EXIT); stderr tail:" >&2
  tail -n 30 "$TMP/switchyard-tenants.stderr" >&2 || true
fi

# ---------------------------------------------------------------------------------------------
# Report
get() {  # cell conns column -> value or empty (only from passing rows)
  awk -F'\t' -v c="$1" -v n="$2" -v col="$3" 'NR == 1 { for (i = 1; i <= NF; i++) h[$i] = i; next }
    $1 == c && $2 == n && $8 == "ok" { print $h[col]; exit }' "$RESULTS"
}

conns_label() { if [[ $1 == 1 ]]; then echo "1 conn"; else echo "$1 conns"; fi; }

# Derived lines of the issue targets, one per comparison, from CPU-µs/req at every connection count.
#   derived ratio X Y MAX TEXT: X ÷ Y, met when ≤ MAX at every count
#   derived pct   X Y MAX TEXT: (X − Y) ÷ Y in %, met when < MAX at every count
# Printed only when X or Y was selected; a count where either is missing or failed is "n/a" and
# makes the line "not met". MAX "-": for information, no verdict.
derived() {
  local mode=$1 x=$2 y=$3 max=$4 text=$5 parts="" verdict="met" n vx vy r ok
  has_exact "$x" || has_exact "$y" || return 0
  for n in "${CONN_LIST[@]}"; do
    vx=$(get "$x" "$n" cpu_us); vy=$(get "$y" "$n" cpu_us)
    if [[ -z $vx || -z $vy ]]; then
      parts+="${parts:+, }$(conns_label "$n"): n/a"; verdict="not met"; continue
    fi
    if [[ $mode == ratio ]]; then
      r=$(awk -v a="$vx" -v b="$vy" 'BEGIN { printf "%.2f", (b > 0) ? a / b : 0 }')
      ok=$(awk -v r="$r" -v m="$max" 'BEGIN { print (m == "-" || r <= m) ? 1 : 0 }')
      parts+="${parts:+, }$(conns_label "$n"): $vx ÷ $vy = **${r}×**"
    else
      r=$(awk -v a="$vx" -v b="$vy" 'BEGIN { printf "%+.1f", (b > 0) ? 100 * (a - b) / b : 0 }')
      ok=$(awk -v r="$r" -v m="$max" 'BEGIN { print (m == "-" || r < m) ? 1 : 0 }')
      parts+="${parts:+, }$(conns_label "$n"): ($vx − $vy) ÷ $vy = **${r}%**"
    fi
    (( ok )) || verdict="not met"
  done
  if [[ $max == - ]]; then
    echo "- $text: $parts"
  else
    echo "- $text: $parts → **$verdict**"
  fi
}

commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
if [[ $commit != unknown && -n $(git --no-optional-locks status --porcelain 2>/dev/null | head -n1) ]]; then
  commit="$commit-dirty"
fi
cpu_model=$(lscpu | sed -n 's/^Model name:[[:space:]]*//p' | head -n1)
ncpu=$(nproc --all 2>/dev/null || getconf _NPROCESSORS_ONLN)
cmdline="bench/run.sh"
hide_next=0
for a in "${ORIG_ARGS[@]}"; do
  # The value of --api-key is a credential: never write it into the report.
  if (( hide_next )); then a="<key>"; hide_next=0; fi
  [[ $a == --api-key ]] && hide_next=1
  if [[ $a =~ ^[A-Za-z0-9_./,:=+-]+$ ]]; then cmdline+=" $a"; else cmdline+=" '${a//\'/\'\\\'\'}'"; fi
done
nginx_ver=$( ("$NGINX" -v 2>&1 || true) | sed 's/.*nginx\///')
wrk_ver=$( (wrk -v 2>&1 || true) | awk 'NR == 1 {print $2}')   # wrk -v exits 1

REPORT=$TMP/report.md
{
  echo "Measured $(date -u '+%Y-%m-%d %H:%M UTC') on **${cpu_model:-unknown CPU}**, $ncpu cores, Linux $(uname -r);"
  echo "commit \`$commit\`; nginx $nginx_ver, wrk $wrk_ver. Command: \`$cmdline\`"
  echo
  echo "Process under test on CPU $CPU_SUT; wrk and the upstream nginx on CPU $CPU_LOAD (cell a*: the upstream"
  echo "nginx *is* the process under test and shares CPU $CPU_LOAD with wrk). ${DURATION}s per row after a ${WARMUP}s"
  echo "checked warm-up; upstream answers: ${JSON_BYTES}-byte chat.completion, ${SSE_BYTES}-byte SSE body ($SSE_EVENTS events)."
  if has_cell t; then
    echo "Translation cells: ${ANTH_BYTES}-byte Anthropic message, ${ANTH_SSE_BYTES}-byte Anthropic SSE body"
    echo "($ANTH_SSE_EVENTS events), ${BR_BYTES}-byte Bedrock ConverseStream body."
  fi
  if has_exact c || has_cell t || has_exact c-tiers; then
    echo "Gateway for c, c-tiers, c-sse, t-*: storage.ledger sqlite in the temp dir (default flush_interval)."
  fi
  if has_cell c; then
    echo "Every gateway prices target up/m (catalog: \$0.15 input, \$0.60 output per million tokens)."
  fi
  if has_exact c-noledger; then
    echo "c-noledger: a second gateway, same config except storage.ledger: off."
  fi
  if needs_gw_tenants; then
    echo "c-tenant, c-redact: a third gateway, same config (own ledger) plus tenants bench and bench-redact"
    echo "(limits, key_limits, budget, key_budget; bench-redact: redact [email, phone, card]) and limits on"
    echo "route bench, none of which ever refuses; each cell sends its tenant's virtual key."
  fi
  echo
  echo "| cell | conns | req/s | CPU-µs/req | p50 (µs) | p99 (µs) | errors |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: | --- |"
  awk -F'\t' 'NR > 1 {
      st = ($8 == "ok") ? "" : " **FAIL**"
      printf "| %s | %s | %s | %s | %s | %s | %s%s |\n", $1, $2, $3, $4, $5, $6, $7, st }' "$RESULTS"
  echo
  legend=""
  for cell in "${CELLS[@]}"; do legend+="${legend:+; }$(cell_desc "$cell")"; done
  echo "Cells: $legend. Latencies in µs; CPU-µs/req is the process under test only."
  echo
  # Derived line 1: CPU ratio c / b at every connection count.
  parts="" verdict="met" any=0
  for n in "${CONN_LIST[@]}"; do
    cb=$(get b "$n" cpu_us); cc=$(get c "$n" cpu_us)
    if [[ -n $cb && -n $cc ]]; then
      r=$(awk -v x="$cc" -v y="$cb" 'BEGIN { printf "%.2f", (y > 0) ? x / y : 0 }')
      parts+="${parts:+, }$(conns_label "$n"): $cc ÷ $cb = **${r}×**"
      awk -v r="$r" 'BEGIN { exit !(r <= 1.5) }' || verdict="not met"
      any=1
    else
      parts+="${parts:+, }$(conns_label "$n"): n/a"
      verdict="not met"
    fi
  done
  if (( any )); then
    echo "- Switchyard fast-path CPU-µs/req ÷ nginx proxy_pass CPU-µs/req (target ≤ 1.5× at every"
    echo "  connection count): $parts → **$verdict**"
  else
    echo "- Switchyard fast-path CPU-µs/req ÷ nginx proxy_pass CPU-µs/req (target ≤ 1.5×): not measured"
    echo "  (needs passing cells b and c) → **not met**"
  fi
  # Derived line 2: added p50 at one connection.
  n1=1
  pa=$(get a "$n1" p50); pc=$(get c "$n1" p50); pb=$(get b "$n1" p50)
  if [[ -n $pa && -n $pc ]]; then
    add=$(( pc - pa ))
    v="not met"; (( add < 100 )) && v="met"
    extra=""
    [[ -n $pb ]] && extra=" (nginx proxy_pass adds $(( pb - pa )) µs)"
    echo "- Added p50 at 1 connection = p50(c) − p50(a) = $pc − $pa = **$add µs** (target < 100 µs) → **$v**$extra"
  else
    echo "- Added p50 at 1 connection = p50(c) − p50(a) (target < 100 µs): not measured"
    echo "  (needs passing cells a and c at 1 connection) → **not met**"
  fi
  # Informational: streaming ratio.
  parts=""
  for n in "${CONN_LIST[@]}"; do
    cb=$(get b-sse "$n" cpu_us); cc=$(get c-sse "$n" cpu_us)
    [[ -n $cb && -n $cc ]] && parts+="${parts:+, }$(conns_label "$n"): $(awk -v x="$cc" -v y="$cb" 'BEGIN { printf "%.2f", (y > 0) ? x / y : 0 }')×"
  done
  [[ -n $parts ]] && echo "- Streaming, for information: CPU-µs/req c-sse ÷ b-sse: $parts"
  # Issue #3: translation vs the fast path with the same framing (JSON vs c, streams vs c-sse).
  derived ratio t-anth c 2 "Translation OpenAI → Anthropic (JSON), CPU-µs/req t-anth ÷ c (target ≤ 2×)"
  derived ratio t-anth-sse c-sse 2 \
    "Translation OpenAI → Anthropic (SSE), CPU-µs/req t-anth-sse ÷ c-sse (target ≤ 2×)"
  derived ratio t-bedrock-sse c-sse 2 \
    "Translation OpenAI → Bedrock ConverseStream, CPU-µs/req t-bedrock-sse ÷ c-sse (target ≤ 2×)"
  # Issue #4: a route with three tiers vs a one-target route.
  derived pct c-tiers c 5 "Routing with core/secondary/fallback tiers, CPU-µs/req (c-tiers − c) ÷ c (target < 5%)"
  # Issue #5: the ledger on (c) vs off (c-noledger).
  derived pct c c-noledger 10 "Ledger cost, CPU-µs/req (c − c-noledger) ÷ c-noledger (target < 10%)"
  # Issue #6: tenancy (key, budgets, three rate-limit scopes) and the redaction path vs c.
  derived pct c-tenant c 5 \
    "Tenancy cost, CPU-µs/req (c-tenant − c) ÷ c (target < 5%, our own goal, not stated in the issue)"
  derived ratio c-redact c - \
    "Redaction path, CPU-µs/req (c-redact ÷ c), for information (no target of its own; translation's is ≤ 2×)"
  echo
  echo "Run conditions (SUT = share of one CPU used by the process under test; other = time on CPU $CPU_SUT"
  echo "not charged to it: other processes, interrupts, steal; load = CPU $CPU_LOAD busy, wrk + upstream):"
  echo
  echo "| cell | conns | SUT % | CPU $CPU_SUT other % | CPU $CPU_LOAD busy % | requests |"
  echo "| --- | ---: | ---: | ---: | ---: | ---: |"
  # For a* the process under test is on the load CPU, so "other on CPU $CPU_SUT" says nothing about it.
  awk -F'\t' 'NR > 1 { o = ($1 ~ /^a/ && $10 != "-") ? "n/a" : $10
      printf "| %s | %s | %s | %s | %s | %s |\n", $1, $2, $9, o, $11, $12 }' "$RESULTS"
  fails=$(awk -F'\t' 'NR > 1 && $8 != "ok"' "$RESULTS" | wc -l)
  if (( fails > 0 )) || (( FAILED )); then
    echo
    echo "**$fails row(s) FAILED.** Details:"
    for cell in "${CELLS[@]}"; do
      [[ -n ${CELL_NOTE[$cell]:-} ]] && echo "- $cell: ${CELL_NOTE[$cell]}"
    done
    if [[ -n $SY_PID ]] && ! alive "$SY_PID"; then
      echo "- Switchyard exited during the run (${SY_EXIT:-?}); last stderr lines:"
      echo '```'
      tail -n 15 "$TMP/switchyard.stderr" || true
      echo '```'
    fi
    if [[ -n $SN_PID ]] && ! alive "$SN_PID"; then
      echo "- Switchyard without ledger exited during the run (${SN_EXIT:-?}); last stderr lines:"
      echo '```'
      tail -n 15 "$TMP/switchyard-noledger.stderr" || true
      echo '```'
    fi
    if [[ -n $ST_PID ]] && ! alive "$ST_PID"; then
      echo "- Switchyard with tenants exited during the run (${ST_EXIT:-?}); last stderr lines:"
      echo '```'
      tail -n 15 "$TMP/switchyard-tenants.stderr" || true
      echo '```'
    fi
  fi
} >"$REPORT"

echo >&2
cat "$REPORT"

if (( WRITE_README )); then
  README=$ROOT/bench/README.md
  [[ -f $README ]] || printf '# Benchmarks\n\n## Results\n\n' >"$README"
  if ! grep -q '<!-- BENCH:BEGIN -->' "$README" || ! grep -q '<!-- BENCH:END -->' "$README"; then
    printf '\n<!-- BENCH:BEGIN -->\n<!-- BENCH:END -->\n' >>"$README"
  fi
  awk -v rep="$REPORT" '
    /<!-- BENCH:BEGIN -->/ { print; while ((getline l < rep) > 0) print l; skip = 1; next }
    /<!-- BENCH:END -->/ { skip = 0 }
    !skip { print }' "$README" >"$TMP/README.new"
  cat "$TMP/README.new" >"$README"
  echo "run.sh: results written to bench/README.md" >&2
fi

if (( FAILED )); then
  echo "run.sh: *** one or more cells FAILED (see above); exit status 1" >&2
  exit 1
fi
