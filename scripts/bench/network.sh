#!/usr/bin/env bash
# docs/performance.md network benchmarks of the release `appliance serve` against peers run in the same
# session on the same certificates, alternating product and peer runs (ratio of medians):
#   1. mTLS requests/s on kept-alive connections: GET /api/v1/agent/status (full per-request
#      validation: chain, validity, revocation from the store, subject, EKU, registered agent)
#      vs nginx `ssl_verify_client on; ssl_verify_depth 2;` returning the same JSON as a static file;
#      wrk + tools/wrk_clientcert.c presenting an enrolled agent's certificate, 32 connections.
#   2. mTLS full handshakes/s: the same with PERF_NO_RESUME=1 and `Connection: close`, 16 connections.
#   3. EST enrolments/s with a one-time token, a new TLS connection (full handshake) each: CSR in →
#      certificate stored and returned; vs nginx's handshakes/s of row 2 (the in-process issuance row compares with raw signing).
#      The appliance runs this row with its own benchmark configuration (appliance-est.yaml: the
#      per-source enrolment limit sized for the run's requests, so the row measures issuance, not
#      the 429 path); the production default stays on for every other row and in the product.
#   4. OCSP POST, one CertID: `openssl ocsp -index … -port` (fresh responder per run, readiness from
#      its log line, never probed) vs the appliance's /ocsp, both with the same sequential
#      one-connection-per-request client (seqpost.c); plus the appliance with wrk keep-alive
#      against cfssl `ocspserve` serving a response pre-signed by `cfssl ocspsign` for the same
#      certificate with the same intermediate key (4c), and with a new connection each (4b).
#   5. Store of 100 000 then 1 000 000 revoked certificates (sqlite3 bulk insert, appliance
#      stopped): start time and RSS at rest, then revoke one more through the admin socket and time
#      until OCSP says revoked and the served CRL lists it (rootkeeper-bench revocation-latency).
# The PKI is built by the release `appliance demo` (root ceremony on SoftHSM, intermediate, agents).
# After row 4, unless CALLGRIND=0: the appliance once more under valgrind's callgrind, counting the
# instructions its process (all threads) executes per request of rows 1, 2, 3 and 4 (fixed request
# counts with curl; an instruction count does not drift with the machine's load as rates do).
#
# Honesty: a run with any socket error, timeout or non-2xx answer is invalid; its row prints FAIL
# with the reason and no ratio, and the script exits non-zero at the end.
#
# Environment: RUNS (alternations, default 3), SECONDS_PER_RUN (default 5), SMOKE=1 (1 run of 1 s,
# 1 000 revocations), KEEP=1 (keep the work directory), ONLY="1 2 3 4 5" (subset), BIN (binaries),
# CALLGRIND=0 (skip the instruction counts), EST_PER_RUN (tokens per EST run, default 4000),
# PROFILE=1 (per row: the client/server CPU split of the measured runs, the bound it sets on the
# ratio, and the top symbols of one extra perf-sampled run of each side: scripts/bench/profile.sh).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.build-release/release}
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-5}
REVOKED_SMALL=100000
REVOKED_LARGE=1000000
EST_PER_RUN=${EST_PER_RUN:-4000}
if [ "${SMOKE:-0}" = 1 ]; then RUNS=1; SECS=1; REVOKED_SMALL=1000; REVOKED_LARGE=2000; EST_PER_RUN=1500; fi
ONLY=${ONLY:-"1 2 3 4 5"}
CALLGRIND=${CALLGRIND:-1}
# rootkeeper-bench prepares EST tokens (row 3, callgrind) and revocation stores (row 5); BENCH
# lets a run measure another build's appliance with this build's bench tool.
BENCH=${BENCH:-$BIN/rootkeeper-bench}
for tool in "$BIN/appliance" "$BIN/ceremony" "$BIN/agent" wrk nginx openssl sqlite3 curl gcc softhsm2-util cfssl; do
  command -v "$tool" >/dev/null || { echo "network.sh: $tool not found (build: swift build -c release --scratch-path .build-release; tools: scripts/install-deps.sh)" >&2; exit 1; }
done
if [[ " $ONLY " == *" 3 "* || " $ONLY " == *" 5 "* ]]; then
  [ -x "$BENCH" ] || { echo "network.sh: $BENCH not found (swift build -c release --scratch-path .build-release)" >&2; exit 1; }
fi
if [ "$CALLGRIND" = 1 ]; then
  command -v valgrind >/dev/null && command -v callgrind_control >/dev/null \
    || { echo "network.sh: valgrind not found (scripts/install-deps.sh), or CALLGRIND=0" >&2; exit 1; }
fi

WORK=$(mktemp -d /tmp/rk-bench.XXXXXX)
chmod 755 "$WORK"   # `serve` runs as nobody when started as root: it must reach the state
DEMO=$WORK/demo
STATE=$DEMO/state
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_serve
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  [ -f "$WORK/cfssl.pid" ] && kill "$(cat "$WORK/cfssl.pid")" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { printf '%s\n' "$*" | tee -a "$WORK/summary.txt" >&2; }
# A failed run (errors, non-2xx): recorded in failures.txt (runs happen in subshells), the row
# prints FAIL instead of a ratio, and the script exits 1 at the end.
FAILURES=$WORK/failures.txt
: >"$FAILURES"
invalid() { printf '%s\n' "$*" >>"$FAILURES"; echo "network.sh: INVALID RUN: $*" >&2; }
row_failed() { grep -q . "$FAILURES" && ! cmp -s "$FAILURES" "$WORK/failures.seen"; }
fail_row() { # name
  log "$(printf '%-44s FAIL (no ratio): %s' "$1" "$(comm -13 <(sort "$WORK/failures.seen") <(sort "$FAILURES") | tr '\n' ';')")"
  cp "$FAILURES" "$WORK/failures.seen"
}
: >"$WORK/failures.seen"
# Rows and their results, printed again at the end next to the instruction counts.
declare -A RESULT
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", (b > 0 ? a / b : 0)}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# The `appliance serve` process of our state (it re-executes itself as nobody, so find it by its
# command line); only that one process is ever signalled.
serve_pid() {
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if (tr '\0' ' ' <"/proc/$pid/cmdline") 2>/dev/null | grep -q "serve --state-dir $STATE "; then echo "$pid"; return 0; fi
  done
  return 1
}
stop_serve() {
  local pid
  pid=$(serve_pid) || return 0
  kill -TERM "$pid" 2>/dev/null || true
  for _ in $(seq 100); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  kill -KILL "$pid" 2>/dev/null || true
}
# Starts `appliance serve`; prints seconds until /health answers 200 (bounded: 120 s).
start_serve() { # [config [command prefix...]]
  local start end config=${1:-$DEMO/appliance.yaml}
  shift || true
  start=$(date +%s.%N)
  "$@" "${APPLIANCE:-$BIN/appliance}" serve --state-dir "$STATE" --config "$config" \
    --passphrase-file "$DEMO/secrets/intermediate.passphrase" >>"$WORK/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq "${START_TRIES:-6000}"); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/health")" = 200 ]; then
      end=$(date +%s.%N); awk -v s="$start" -v e="$end" 'BEGIN {printf "%.2f", e - s}'; return 0
    fi
    sleep 0.02
  done
  echo "network.sh: appliance did not become healthy; see $WORK/serve.log: $(tail -3 "$WORK/serve.log")" >&2
  return 1
}
rss_mb() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# ---- the PKI: release `appliance demo` (ceremonies, appliance, two agents) ----
log "== $(date -u +%FT%TZ) script commit $(git rev-parse --short HEAD), binaries: $("$BIN/appliance" --version 2>/dev/null | head -1), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/appliance" demo --dir "$DEMO" >"$WORK/demo.log" 2>&1 &
DEMO_PID=$!
PIDS+=("$DEMO_PID")
for _ in $(seq 600); do grep -q "press Ctrl-C to stop" "$WORK/demo.log" && break; sleep 0.5; done
grep -q "press Ctrl-C to stop" "$WORK/demo.log" || { echo "demo failed:"; tail -30 "$WORK/demo.log"; exit 1; }
kill -INT "$DEMO_PID"; wait "$DEMO_PID" 2>/dev/null || true
stop_serve
# The demo lets the OS choose the ports (port: 0); the benchmark restarts serve several times, so
# it fixes two free ports in the configuration.
HTTPS_PORT=$(free_port); HTTP_PORT=$(free_port)
awk -v https="$HTTPS_PORT" -v http="$HTTP_PORT" '
  /^https:/ {section = "https"} /^http:/ {section = "http"} /^[a-z]/ && !/^https?:/ {section = ""}
  section == "https" && /^  port:/ {$0 = "  port: " https} section == "http" && /^  port:/ {$0 = "  port: " http} {print}
' "$DEMO/appliance.yaml" >"$DEMO/appliance.yaml.new" && mv "$DEMO/appliance.yaml.new" "$DEMO/appliance.yaml"
grep -q "port: $HTTPS_PORT" "$DEMO/appliance.yaml" && grep -q "port: $HTTP_PORT" "$DEMO/appliance.yaml" \
  || { echo "network.sh: could not set the ports in $DEMO/appliance.yaml" >&2; exit 1; }
CHAIN=$STATE/ca/ca-chain.crt
CERT=$DEMO/agents/db-01/agent.crt
KEY=$DEMO/agents/db-01/agent.key
SHIM=$WORK/wrkcert.so
gcc -shared -fPIC -O2 -o "$SHIM" /work/shared/tools/wrk_clientcert.c -ldl 2>/dev/null \
  || gcc -shared -fPIC -O2 -o "$SHIM" "$ROOT/scripts/bench/wrk_clientcert.c" -ldl
gcc -O2 -o "$WORK/seqpost" "$ROOT/scripts/bench/seqpost.c"
start_serve >/dev/null
PID=$(serve_pid)

# ---- nginx with the appliance's own server certificate/chain and client CA ----
NGINX_PORT=$(free_port)
mkdir -p "$WORK/www" "$WORK/nginx-tmp"
curl -sS --fail --cacert "$CHAIN" --cert "$CERT" --key "$KEY" "https://127.0.0.1:$HTTPS_PORT/api/v1/agent/status" >"$WORK/www/status.json"
chmod -R a+rX "$WORK/www"
cat >"$WORK/nginx.conf" <<EOF
worker_processes auto;
pid $WORK/nginx.pid;
error_log $WORK/nginx-error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $WORK/nginx-tmp; proxy_temp_path $WORK/nginx-tmp; fastcgi_temp_path $WORK/nginx-tmp;
  uwsgi_temp_path $WORK/nginx-tmp; scgi_temp_path $WORK/nginx-tmp;
  keepalive_requests 100000000;
  server {
    listen 127.0.0.1:$NGINX_PORT ssl;
    ssl_certificate $STATE/server/server-chain.crt;
    ssl_certificate_key $STATE/server/private/server.key;
    ssl_client_certificate $CHAIN;
    ssl_verify_client on;
    ssl_verify_depth 2;
    location / { root $WORK/www; default_type application/json; }
  }
}
EOF
nginx -c "$WORK/nginx.conf" -p "$WORK"
for _ in $(seq 100); do [ -s "$WORK/nginx.pid" ] && break; sleep 0.05; done
curl -sS --fail -o /dev/null --cacert "$CHAIN" --cert "$CERT" --key "$KEY" "https://127.0.0.1:$NGINX_PORT/status.json"

# wrk with the client-certificate shim: prints requests/s, or FAIL (recorded) when wrk failed or
# the run saw any socket error (connect, read, write, timeout) or any non-2xx answer. The number
# of completed requests goes to $WORK/last-requests.
wrk_rate() { # label connections url [wrk args...]
  local label=$1 connections=$2 url=$3; shift 3
  local out=$WORK/wrk-$label-$RANDOM.txt timer=()
  [ "${PROFILE:-0}" = 1 ] && timer=(profile_run "$label")
  # The URL before the options: everything after `--` goes to the Lua script.
  "${timer[@]}" env LD_PRELOAD="$SHIM" ${WRK_ENV:-} wrk -t2 -c"$connections" -d"${SECS}s" "$url" "$@" >"$out" 2>&1
  if ! grep -q '^Requests/sec:' "$out"; then invalid "$label: wrk failed: $(head -3 "$out" | tr '\n' ' ')"; echo FAIL; return; fi
  awk '/requests in/ {print $1}' "$out" >"$WORK/last-requests"
  local bad=""
  grep -q 'Non-2xx' "$out" && bad="$(grep 'Non-2xx' "$out" | sed 's/^ *//')"
  if grep -q 'Socket errors' "$out"; then bad="$bad $(grep 'Socket errors' "$out" | sed 's/^ *//')"; fi
  if [ -n "$bad" ]; then invalid "$label: $bad (of $(cat "$WORK/last-requests") requests; $out)"; echo FAIL; return; fi
  [ "${PROFILE:-0}" = 1 ] && profile_requests "$label" "$(cat "$WORK/last-requests")"
  awk '/^Requests\/sec:/ {print $2}' "$out"
}
# Any FAIL among a row's runs fails the row: no median, no ratio.
has_fail() { [[ " $* " == *" FAIL "* ]]; }
compare() { # name ours-command peer-command  (alternating, RUNS times each)
  local name=$1 ours=() peer=()
  for _ in $(seq "$RUNS"); do ours+=("$(eval "$2")"); peer+=("$(eval "$3")"); done
  LAST_OURS=""; LAST_PEER=""
  if has_fail "${ours[*]}" || has_fail "${peer[*]}"; then
    fail_row "$name"; RESULT[$name]="FAIL"; return
  fi
  local o p
  o=$(echo "${ours[*]}" | median); p=$(echo "${peer[*]}" | median)
  log "$(printf '%-44s ours %9.0f/s (runs: %s) | peer %9.0f/s (runs: %s) | ratio %s' "$name" "$o" "${ours[*]}" "$p" "${peer[*]}" "$(ratio "$o" "$p")")"
  RESULT[$name]="$(printf '%.0f/s vs %.0f/s, ratio %s' "$o" "$p" "$(ratio "$o" "$p")")"
  LAST_OURS=$o; LAST_PEER=$p
}
CLIENT="PERF_CLIENT_CERT=$CERT PERF_CLIENT_KEY=$KEY"
[ "${PROFILE:-0}" = 1 ] && . "$ROOT/scripts/bench/profile.sh"
# PROFILE=1: the row's CPU split and bound, then one perf-sampled run of each side (ours, peer).
profile_row() { # row target ours-label peer-label client-comm ours-command peer-command
  [ "${PROFILE:-0}" = 1 ] || return 0
  profile_bound "$1" "$3" "$4" "$2"
  # The profiled runs are not rates: their CPU is not counted and a failure there only says so.
  local PROFILE=0 FAILURES=$WORK/profile/failures.txt
  profile_perf "$3" "$5" eval "$6"
  if [ -n "${7:-}" ]; then profile_perf "$4" "$5" eval "$7"; fi
  if [ -s "$FAILURES" ]; then log "   profile runs with errors (profiles still printed): $(tr '\n' ';' <"$FAILURES")"; : >"$FAILURES"; fi
}

if [[ " $ONLY " == *" 1 "* ]]; then
  WRK_ENV="$CLIENT" compare "1. mTLS keep-alive req/s (32 conns)" \
    'WRK_ENV="$CLIENT" wrk_rate ours-keepalive 32 https://127.0.0.1:$HTTPS_PORT/api/v1/agent/status' \
    'WRK_ENV="$CLIENT" wrk_rate nginx-keepalive 32 https://127.0.0.1:$NGINX_PORT/status.json'
  profile_row 1 0.7 ours-keepalive nginx-keepalive wrk \
    'WRK_ENV="$CLIENT" wrk_rate ours-keepalive 32 https://127.0.0.1:$HTTPS_PORT/api/v1/agent/status' \
    'WRK_ENV="$CLIENT" wrk_rate nginx-keepalive 32 https://127.0.0.1:$NGINX_PORT/status.json'
fi
if [[ " $ONLY " == *" 2 "* || " $ONLY " == *" 3 "* ]]; then
  compare "2. mTLS full handshakes/s (16 conns, close)" \
    'WRK_ENV="$CLIENT PERF_NO_RESUME=1" wrk_rate ours-handshake 16 https://127.0.0.1:$HTTPS_PORT/api/v1/agent/status -H "Connection: close"' \
    'WRK_ENV="$CLIENT PERF_NO_RESUME=1" wrk_rate nginx-handshake 16 https://127.0.0.1:$NGINX_PORT/status.json -H "Connection: close"'
  NGINX_HANDSHAKES=$LAST_PEER
  profile_row 2 1.5 ours-handshake nginx-handshake wrk \
    'WRK_ENV="$CLIENT PERF_NO_RESUME=1" wrk_rate ours-handshake 16 https://127.0.0.1:$HTTPS_PORT/api/v1/agent/status -H "Connection: close"' \
    'WRK_ENV="$CLIENT PERF_NO_RESUME=1" wrk_rate nginx-handshake 16 https://127.0.0.1:$NGINX_PORT/status.json -H "Connection: close"'
fi
EST_STORED=()
if [[ " $ONLY " == *" 3 "* ]]; then
  # PROFILE=1: one more batch of tokens for the perf-sampled run.
  total=$((EST_PER_RUN * (RUNS + ${PROFILE:-0})))
  # The benchmark's own configuration: the demo's, with the per-source enrolment limit sized for
  # every request of this row (all come from 127.0.0.1) plus margin. Production keeps its default
  # (limits.enrollments_per_minute_per_source: 120); the per-agent limit stays as it is (each
  # token names a different agent).
  EST_SOURCE_LIMIT=$((total * 2))
  EST_CONFIG=$WORK/appliance-est.yaml
  { grep -v '^limits:' "$DEMO/appliance.yaml"; printf 'limits:\n  enrollments_per_minute_per_source: %s\n' "$EST_SOURCE_LIMIT"; } >"$EST_CONFIG"
  grep -q '^limits:' "$DEMO/appliance.yaml" && { echo "network.sh: the demo configuration has a limits section; merge it into $EST_CONFIG" >&2; exit 1; }
  stop_serve; start_serve "$EST_CONFIG" >/dev/null
  "$BENCH" est-prepare --state "$STATE" --count "$total" --out "$WORK/est.txt" | tee -a "$WORK/summary.txt" >&2
  # Issued agent certificates (the subject no longer carries an `agent-` prefix: docs/identity.md).
  issued() { sqlite3 "$STATE/db/rootkeeper.sqlite" "SELECT COUNT(*) FROM certificates WHERE status='issued' AND type='agent'"; }
  est=()
  for run in $(seq 0 $((RUNS - 1))); do
    before=$(issued)
    # No client certificate: a new agent has none. PERF_NO_RESUME=1: every connection a full handshake.
    rate=$(WRK_ENV="PERF_NO_RESUME=1" wrk_rate est 16 "https://127.0.0.1:$HTTPS_PORT/.well-known/est/simpleenroll" \
      -s "$ROOT/scripts/bench/est.lua" -- "$WORK/est.txt" $((run * EST_PER_RUN)) "$EST_PER_RUN" 2)
    sleep 1 # requests wrk abandoned at its deadline finish on the server
    stored=$(( $(issued) - before )); answered=$(cat "$WORK/last-requests" 2>/dev/null || echo 0)
    # Every 2xx answer is a certificate the store recorded; fewer rows than answers is a failure.
    if [ "$rate" != FAIL ] && [ "$stored" -lt "$answered" ]; then
      invalid "est run $run: $answered certificates answered but only $stored stored"; rate=FAIL
    fi
    est+=("$rate"); EST_STORED+=("$stored")
  done
  name="3. EST enrolments/s (token, new TLS each)"
  if has_fail "${est[*]}" || [ -z "${NGINX_HANDSHAKES:-}" ]; then
    fail_row "$name"; RESULT[$name]="FAIL"
  else
    e=$(echo "${est[*]}" | median)
    log "$(printf '%-44s ours %9.0f/s (runs: %s; certificates stored per run: %s) | nginx handshakes %9.0f/s | ratio %s | benchmark config: limits.enrollments_per_minute_per_source=%s (production default 120)' \
      "$name" "$e" "${est[*]}" "${EST_STORED[*]}" "$NGINX_HANDSHAKES" "$(ratio "$e" "$NGINX_HANDSHAKES")" "$EST_SOURCE_LIMIT")"
    RESULT[$name]="$(printf '%.0f/s vs nginx handshakes %.0f/s, ratio %s (benchmark limits)' "$e" "$NGINX_HANDSHAKES" "$(ratio "$e" "$NGINX_HANDSHAKES")")"
  fi
  # The peer is row 2's nginx handshakes (profiled there).
  profile_row 3 1.0 est nginx-handshake wrk \
    'WRK_ENV="PERF_NO_RESUME=1" wrk_rate est 16 "https://127.0.0.1:$HTTPS_PORT/.well-known/est/simpleenroll" -s "$ROOT/scripts/bench/est.lua" -- "$WORK/est.txt" $((RUNS * EST_PER_RUN)) "$EST_PER_RUN" 2'
  stop_serve; start_serve >/dev/null
fi

if [[ " $ONLY " == *" 4 "* ]]; then
  mkdir -p "$WORK/ocsp" && chmod 700 "$WORK/ocsp"
  INTERMEDIATE=$STATE/ca/intermediate-ca.crt
  openssl pkey -in "$STATE/ca/private/intermediate-ca.key" -passin "file:$DEMO/secrets/intermediate.passphrase" -out "$WORK/ocsp/intermediate.key"
  chmod 600 "$WORK/ocsp/intermediate.key"
  openssl ocsp -issuer "$INTERMEDIATE" -cert "$CERT" -no_nonce -reqout "$WORK/ocsp/request.der" >/dev/null
  serial=$(openssl x509 -in "$CERT" -noout -serial | cut -d= -f2)
  enddate=$(date -u -d "$(openssl x509 -in "$CERT" -noout -enddate | cut -d= -f2)" +%y%m%d%H%M%SZ)
  subject=$(openssl x509 -in "$CERT" -noout -subject -nameopt compat | sed 's/^subject=//')
  printf 'V\t%s\t\t%s\tunknown\t%s\n' "$enddate" "$serial" "$subject" >"$WORK/ocsp/index.txt"
  # seqpost prints "<requests> <seconds> <rate>"; it fails (exit 1, message) on a non-200 answer.
  seq_rate() { # label port path
    local out timer=()
    [ "${PROFILE:-0}" = 1 ] && timer=(profile_run "$1")
    if out=$("${timer[@]}" "$WORK/seqpost" "$2" "$3" "$WORK/ocsp/request.der" "$SECS" 2>"$WORK/seqpost-$1.err") && [ ! -s "$WORK/seqpost-$1.err" ]; then
      [ "${PROFILE:-0}" = 1 ] && profile_requests "$1" "$(echo "$out" | awk '{print $1}')"
      echo "$out" | awk '{print $3}'
    else
      invalid "$1: seqpost: $(cat "$WORK/seqpost-$1.err") $out"; echo FAIL
    fi
  }
  openssl_ocsp_rate() {
    local port log
    port=$(free_port); log=$WORK/ocsp/openssl-$port.log
    openssl ocsp -index "$WORK/ocsp/index.txt" -port "$port" -CA "$INTERMEDIATE" -rsigner "$INTERMEDIATE" \
      -rkey "$WORK/ocsp/intermediate.key" -ignore_err >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do grep -qi 'waiting for OCSP client' "$log" && break; sleep 0.02; done
    OPENSSL_OCSP_PID=$pid seq_rate openssl "$port" /
    kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
  }
  compare "4. OCSP resp/s, sequential, 1 conn/request" \
    'seq_rate ours "$HTTP_PORT" /ocsp' \
    'openssl_ocsp_rate'
  OPENSSL_OCSP=$LAST_PEER
  profile_row 4 2 ours openssl seqpost 'seq_rate ours "$HTTP_PORT" /ocsp' 'openssl_ocsp_rate'

  # cfssl `ocspserve` with a response pre-signed by `cfssl ocspsign` for the same certificate with
  # the same intermediate key; checked once with openssl before it is measured.
  cfssl ocspsign -ca "$INTERMEDIATE" -responder "$INTERMEDIATE" -responder-key "$WORK/ocsp/intermediate.key" -cert "$CERT" -status good \
    2>"$WORK/ocsp/cfssl-sign.err" | python3 -c 'import json, sys; print(json.load(sys.stdin)["ocspResponse"])' >"$WORK/ocsp/cfssl-responses.b64"
  CFSSL_PORT=$(free_port)
  cfssl ocspserve -address 127.0.0.1 -port "$CFSSL_PORT" -responses "$WORK/ocsp/cfssl-responses.b64" >"$WORK/ocsp/cfssl.log" 2>&1 &
  echo $! >"$WORK/cfssl.pid"
  for _ in $(seq 200); do grep -q 'Now listening' "$WORK/ocsp/cfssl.log" && break; sleep 0.05; done
  curl -sS --fail -o "$WORK/ocsp/cfssl-answer.der" --data-binary "@$WORK/ocsp/request.der" -H 'Content-Type: application/ocsp-request' "http://127.0.0.1:$CFSSL_PORT/"
  openssl ocsp -respin "$WORK/ocsp/cfssl-answer.der" -issuer "$INTERMEDIATE" -CAfile "$CHAIN" -cert "$CERT" -no_nonce 2>&1 | grep -q ': good' \
    || { echo "network.sh: cfssl's pre-signed response does not say good for $CERT" >&2; exit 1; }
  compare "4c. OCSP keep-alive, wrk 32 conns vs cfssl" \
    'WRK_ENV= wrk_rate ocsp-keepalive 32 "http://127.0.0.1:$HTTP_PORT/ocsp" -s "$ROOT/scripts/bench/post-file.lua" -- "$WORK/ocsp/request.der" application/ocsp-request' \
    'WRK_ENV= wrk_rate cfssl-keepalive 32 "http://127.0.0.1:$CFSSL_PORT/" -s "$ROOT/scripts/bench/post-file.lua" -- "$WORK/ocsp/request.der" application/ocsp-request'
  profile_row 4c 1.5 ocsp-keepalive cfssl-keepalive wrk \
    'WRK_ENV= wrk_rate ocsp-keepalive 32 "http://127.0.0.1:$HTTP_PORT/ocsp" -s "$ROOT/scripts/bench/post-file.lua" -- "$WORK/ocsp/request.der" application/ocsp-request' \
    'WRK_ENV= wrk_rate cfssl-keepalive 32 "http://127.0.0.1:$CFSSL_PORT/" -s "$ROOT/scripts/bench/post-file.lua" -- "$WORK/ocsp/request.der" application/ocsp-request'
  kill "$(cat "$WORK/cfssl.pid")" 2>/dev/null || true; rm -f "$WORK/cfssl.pid"
  cl=()
  for _ in $(seq "$RUNS"); do
    cl+=("$(WRK_ENV= wrk_rate ocsp-close 16 "http://127.0.0.1:$HTTP_PORT/ocsp" -s "$ROOT/scripts/bench/post-file.lua" -- "$WORK/ocsp/request.der" application/ocsp-request close)")
  done
  name="4b. OCSP, wrk, new connection each, 16 conns"
  if has_fail "${cl[*]}" || [ -z "$OPENSSL_OCSP" ]; then
    fail_row "$name"; RESULT[$name]="FAIL"
  else
    c=$(echo "${cl[*]}" | median)
    log "$(printf '%-44s ours %9.0f/s (runs: %s) | vs openssl ocsp (sequential, row 4) %s/s: %s' "$name" "$c" "${cl[*]}" "$OPENSSL_OCSP" "$(ratio "$c" "$OPENSSL_OCSP")")"
    RESULT[$name]="$(printf '%.0f/s, %s x openssl ocsp' "$c" "$(ratio "$c" "$OPENSSL_OCSP")")"
  fi
fi

# ---- instructions per request: the appliance under callgrind (all threads of the serving process) ----
# Before row 5: on its store of a million revocations, the start-up CRL publication alone (35 s of
# store reading natively) would run for the better part of an hour under valgrind, on threads
# whose instructions every window below would count.
# Each figure is the difference of two windows (a warm-up-free count of N+1 requests minus 1
# request on one connection, divided by N), so connection set-up and one-time work cancel out;
# rows 2 and 3 count whole connections (full handshake + request), one per curl.
declare -A IR
if [ "$CALLGRIND" = 1 ]; then
  stop_serve
  CGOUT=$WORK/callgrind
  mkdir -p "$CGOUT" && chmod 777 "$CGOUT"
  # valgrind cannot read the Swift toolchain's DWARF ("possibly corrupted debuginfo"): it runs a
  # copy without debug sections (the symbol table stays, so profiles still name functions).
  strip --strip-debug -o "$CGOUT/appliance" "$BIN/appliance"
  # As root, serve re-executes itself as nobody, and valgrind's output file (created by the root
  # half, mode 0600) would be unwritable for the nobody half: start it as nobody under valgrind
  # directly, the passphrase handed over on a descriptor opened here.
  # valgrind 3.19 dies ("the 'impossible' happened: Killed by fatal signal", SIGSEGV inside
  # valgrind) when an async-main Swift program parks its main thread in libdispatch's
  # sigsuspend(2), whose mask lies in read-only data that valgrind's wrapper rewrites in place; the
  # shim hands it a writable copy (scripts/bench/valgrind_sigsuspend.c). Only this count loads it.
  gcc -shared -fPIC -O2 -o "$CGOUT/valgrind_sigsuspend.so" "$ROOT/scripts/bench/valgrind_sigsuspend.c"
  runas=()
  if [ "$(id -u)" = 0 ]; then runas=(setpriv --reuid="$(id -u nobody)" --regid="$(id -g nobody)" --clear-groups --inh-caps=-all); fi
  LD_PRELOAD="$CGOUT/valgrind_sigsuspend.so" "${runas[@]}" valgrind --tool=callgrind --compress-strings=no --callgrind-out-file="$CGOUT/cg.%p" "$CGOUT/appliance" serve --state-dir "$STATE" \
    --config "$DEMO/appliance.yaml" --passphrase-fd 3 3<"$DEMO/secrets/intermediate.passphrase" >>"$WORK/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 9000); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/health")" = 200 ] && break
    sleep 0.05
  done
  CGPID=$(serve_pid)
  # Counters since the last dump; a dump zeroes them.
  cg_count() { # label  → instructions since the previous dump
    # callgrind_control runs as the same user as valgrind: as root it cannot open nobody's control
    # FIFOs in /tmp (fs.protected_fifos).
    # The nobody half cannot be ptraced by vgdb to take the command while it idles (it is not
    # dumpable): valgrind takes it at its next poll, which a /health request triggers. That request
    # is counted in the next window; the difference windows (1, 4c) cancel it, rows 2, 3 and 4
    # carry one /health request spread over their M or E connections.
    "${runas[@]}" callgrind_control --dump="$1" "$CGPID" >/dev/null 2>&1 &
    local control=$! file=""
    for _ in $(seq 100); do
      curl -s -o /dev/null "http://127.0.0.1:$HTTP_PORT/health" || true
      file=$(grep -l "^desc: Trigger: dump $1\$" "$CGOUT"/cg.* 2>/dev/null | head -1) && [ -n "$file" ] && break; sleep 0.2
    done
    wait "$control" 2>/dev/null || true
    [ -n "$file" ] || { invalid "callgrind: no dump for $1"; echo 0; return; }
    awk '/^(summary|totals):/ {print $2; exit}' "$file"
  }
  STATUS_URL="https://127.0.0.1:$HTTPS_PORT/api/v1/agent/status"
  mtls_curl() { curl -sS --fail --cacert "$CHAIN" --cert "$CERT" --key "$KEY" "$@"; }
  repeat_url() { for _ in $(seq "$2"); do printf '%s\n' "$1"; done; }
  N=200
  mtls_curl "$STATUS_URL" >/dev/null # warm-up: chain and status caches as after row 1's first request
  cg_count warm >/dev/null
  mtls_curl "$STATUS_URL" >/dev/null
  one=$(cg_count one)
  # shellcheck disable=SC2046
  mtls_curl $(repeat_url "$STATUS_URL" $((N + 1))) >/dev/null
  many=$(cg_count many)
  IR[1]=$(( (many - one) / N ))
  # 2: full handshakes (no session reuse) + one request each.
  M=20
  cg_count before-2 >/dev/null
  for _ in $(seq "$M"); do mtls_curl --no-sessionid -H 'Connection: close' "$STATUS_URL" >/dev/null; done
  IR[2]=$(( $(cg_count handshakes) / M ))
  # 4: OCSP POST kept alive.
  if [ -s "$WORK/ocsp/request.der" ]; then
    OCSP_URL="http://127.0.0.1:$HTTP_PORT/ocsp"
    ocsp_curl() { curl -sS --fail -H 'Content-Type: application/ocsp-request' --data-binary "@$WORK/ocsp/request.der" "$@"; }
    ocsp_curl "$OCSP_URL" >/dev/null; cg_count before-4 >/dev/null
    ocsp_curl "$OCSP_URL" >/dev/null; one=$(cg_count ocsp-one)
    # shellcheck disable=SC2046
    ocsp_curl $(repeat_url "$OCSP_URL" $((N + 1))) >/dev/null; many=$(cg_count ocsp-many)
    IR[4c]=$(( (many - one) / N ))
    cg_count before-4 >/dev/null
    for _ in $(seq "$M"); do ocsp_curl -H 'Connection: close' "$OCSP_URL" >/dev/null; done
    IR[4]=$(( $(cg_count ocsp-connections) / M ))
  fi
  # 3: EST enrolments with a token, a new connection each (no client certificate).
  E=10
  if [ -x "$BENCH" ]; then
  "$BENCH" est-prepare --state "$STATE" --count "$E" --prefix callgrind --out "$WORK/est-cg.txt" >/dev/null
  cg_count before-3 >/dev/null
  while IFS=$'\t' read -r token csr; do
    printf '%s' "$csr" >"$WORK/est-cg.csr"
    curl -sS --fail -o /dev/null --cacert "$CHAIN" -H "Authorization: Bearer $token" -H 'Content-Type: application/pkcs10' \
      --data-binary "@$WORK/est-cg.csr" "https://127.0.0.1:$HTTPS_PORT/.well-known/est/simpleenroll" || invalid "callgrind EST enrolment failed"
  done <"$WORK/est-cg.txt"
  IR[3]=$(( $(cg_count est) / E ))
  fi
  log "== instructions per request, appliance process under callgrind (all threads; Ir):"
  log "   1. mTLS kept-alive GET /api/v1/agent/status, full per-request validation: ${IR[1]} per request (N=$N)"
  log "   2. mTLS full handshake + one request (curl --no-sessionid): ${IR[2]} per connection (M=$M)"
  log "   3. EST enrolment with a token, new TLS connection: ${IR[3]:-not run (no $BENCH)} per enrolment (E=$E)"
  log "   4. OCSP POST, new connection each: ${IR[4]:-not run} per request (M=$M)"
  log "   4c. OCSP POST kept-alive (cached response): ${IR[4c]:-not run} per request (N=$N)"
  # Each window is a self-contained dump (--compress-strings=no): where its instructions went.
  if [ "${PROFILE:-0}" = 1 ]; then
    for window in many handshakes est ocsp-connections; do
      file=$(grep -l "^desc: Trigger: dump $window\$" "$CGOUT"/cg.* 2>/dev/null | head -1) || true
      [ -n "$file" ] || continue
      log "   callgrind, window '$window' ($file), top functions by own instructions:"
      log "$(awk -f "$ROOT/scripts/bench/callgrind_self.awk" "$file" | sort -rn | head -n "$PROFILE_TOP" | $DEMANGLE \
        | awk -F '\t' '{printf "      %12s Ir %5s %%  %s\n", $1, $2, substr($3, 1, 140)}')"
    done
  fi
  stop_serve
  start_serve >/dev/null
fi

if [[ " $ONLY " == *" 5 "* ]]; then
  DB=$STATE/db/rootkeeper.sqlite
  SKI=$(sqlite3 "$DB" "SELECT issuer_ski FROM certificates WHERE type='agent' LIMIT 1")
  # Bulk rows as the store writes them: a revoked agent certificate + its revocation (reason
  # keyCompromise), valid for 90 more days so none is pruned from the CRL.
  populate() { # first last
    stop_serve
    local t0=$SECONDS
    sqlite3 "$DB" <<EOF
.timeout 10000
BEGIN;
WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO certificates (serial, issuer_ski, type, subject, not_before, not_after, status, tbs_sha256, reserved_at, issued_at)
SELECT printf('5b%030x', i), '$SKI', 'agent', 'CN=agent-bulk-' || i, unixepoch() - 86400, unixepoch() + 90 * 86400, 'revoked',
       '$(printf 'ab%.0s' $(seq 32))', unixepoch() - 86400, unixepoch() - 86400 FROM n;
WITH RECURSIVE n(i) AS (SELECT $1 UNION ALL SELECT i + 1 FROM n WHERE i < $2)
INSERT INTO revocations (serial, issuer_ski, revoked_at, reason, invalidity_date)
SELECT printf('5b%030x', i), '$SKI', unixepoch() - 3600, 1, NULL FROM n;
COMMIT;
EOF
    chown -R nobody: "$STATE/db" 2>/dev/null || true
    log "   store: $(sqlite3 "$DB" "SELECT COUNT(*) FROM certificates") certificates, $(sqlite3 "$DB" "SELECT COUNT(*) FROM revocations") revocations (bulk insert $((SECONDS - t0)) s, $(du -m "$DB" | cut -f1) MB)"
  }
  crl_entries() { curl -s "http://127.0.0.1:$HTTP_PORT/metrics" | awk '/^rootkeeper_crl_entries/ && /intermediate/ {print int($2); exit}'; }
  at_rest() { # label expected-entries
    local started pid t0 entries=0 published=""
    t0=$(date +%s.%N)
    started=$(start_serve); pid=$(serve_pid)
    # The start-up CRL publication (bounded wait), then the process at rest.
    for _ in $(seq 1200); do
      entries=$(crl_entries); entries=${entries:-0}
      if [ "$entries" -ge "$2" ]; then published=$(awk -v s="$t0" -v e="$(date +%s.%N)" 'BEGIN {printf "%.2f", e - s}'); break; fi
      sleep 0.1
    done
    sleep 3
    log "$(printf '%-44s start (exec → /health 200) %s s, start-up CRL of %s entries served after %s s, RSS at rest %s MB, peak RSS %s MB' \
      "5. $1" "$started" "$entries" "${published:-(not within 120 s)}" "$(rss_mb "$pid")" "$(hwm_mb "$pid")")"
  }
  populate 1 "$REVOKED_SMALL"
  at_rest "store with $REVOKED_SMALL revoked certificates" "$REVOKED_SMALL"
  populate $((REVOKED_SMALL + 1)) "$REVOKED_LARGE"
  at_rest "store with $REVOKED_LARGE revoked certificates" "$REVOKED_LARGE"
  # The certificate to revoke: an enrolled agent (EST run) or else the demo's db-01.
  target=$(sqlite3 "$DB" "SELECT serial FROM certificates WHERE status='issued' AND type='agent' ORDER BY issued_at DESC LIMIT 1")
  openssl ocsp -issuer "$STATE/ca/intermediate-ca.crt" -serial "0x$target" -no_nonce -reqout "$WORK/revoke-request.der" >/dev/null
  "$BENCH" revocation-latency --state "$STATE" --http-port "$HTTP_PORT" --serial "$target" \
    --request "$WORK/revoke-request.der" --timeout 60 2>&1 | tee -a "$WORK/summary.txt" >&2
  log "   serve peak RSS after the revocation: $(hwm_mb "$(serve_pid)") MB"
fi
log "== summary (ratios against the peer of the same run; Ir = instructions per request under callgrind)"
for name in $(printf '%s\n' "${!RESULT[@]}" | sort | tr ' ' '\001'); do
  name=${name//$'\001'/ }
  log "$(printf '   %-44s %s | Ir %s' "$name" "${RESULT[$name]}" "${IR[${name%%.*}]:--}")"
done
if grep -q . "$FAILURES"; then
  log "== FAILED: $(wc -l <"$FAILURES") invalid run(s); rows marked FAIL have no ratio:"
  while read -r line; do log "   $line"; done <"$FAILURES"
  cp "$WORK/summary.txt" "$ROOT/.build-release/network-summary.txt" 2>/dev/null || true
  exit 1
fi
log "== done; summary copied to .build-release/network-summary.txt"
cp "$WORK/summary.txt" "$ROOT/.build-release/network-summary.txt" 2>/dev/null || true
