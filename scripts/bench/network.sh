#!/usr/bin/env bash
# docs/performance.md network benchmarks of the release `appliance serve` against peers run in the same
# session on the same certificates, alternating product and peer runs (ratio of medians):
#   1. mTLS requests/s on kept-alive connections: GET /api/v1/agent/status (full per-request
#      validation: chain, validity, revocation from the store, subject, EKU, registered agent)
#      vs nginx `ssl_verify_client on; ssl_verify_depth 2;` returning the same JSON as a static file;
#      wrk + tools/wrk_clientcert.c presenting an enrolled agent's certificate, 32 connections.
#   2. mTLS full handshakes/s: the same with PERF_NO_RESUME=1 and `Connection: close`, 16 connections.
#   3. EST enrolments/s with a one-time token, a new TLS connection (full handshake) each: CSR in →
#      certificate stored and returned; vs nginx's handshakes/s of 2 and `openssl speed ecdsap256`.
#   4. OCSP POST, one CertID: `openssl ocsp -index … -port` (fresh responder per run, readiness from
#      its log line, never probed) vs the appliance's /ocsp, both with the same sequential
#      one-connection-per-request client (seqpost.c); plus the appliance with wrk keep-alive.
#   5. Store of 100 000 then 1 000 000 revoked certificates (sqlite3 bulk insert, appliance
#      stopped): start time and RSS at rest, then revoke one more through the admin socket and time
#      until OCSP says revoked and the served CRL lists it (rootkeeper-bench revocation-latency).
# The PKI is built by the release `appliance demo` (root ceremony on SoftHSM, intermediate, agents).
#
# Environment: RUNS (alternations, default 3), SECONDS_PER_RUN (default 5), SMOKE=1 (1 run of 1 s,
# 1 000 revocations), KEEP=1 (keep the work directory), ONLY="1 2 3 4 5" (subset), BIN (binaries).
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
for tool in "$BIN/appliance" "$BIN/ceremony" "$BIN/agent" "$BIN/rootkeeper-bench" wrk nginx openssl sqlite3 curl gcc softhsm2-util; do
  command -v "$tool" >/dev/null || { echo "network.sh: $tool not found (build: swift build -c release --scratch-path .build-release)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/rk-bench.XXXXXX)
chmod 755 "$WORK"   # `serve` runs as nobody when started as root: it must reach the state
DEMO=$WORK/demo
STATE=$DEMO/state
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_serve
  [ -f "$WORK/nginx.pid" ] && kill "$(cat "$WORK/nginx.pid")" 2>/dev/null || true
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { printf '%s\n' "$*" | tee -a "$WORK/summary.txt" >&2; }
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
start_serve() {
  local start end
  start=$(date +%s.%N)
  "$BIN/appliance" serve --state-dir "$STATE" --config "$DEMO/appliance.yaml" \
    --passphrase-file "$DEMO/secrets/intermediate.passphrase" >>"$WORK/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 6000); do
    if [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HTTP_PORT/health")" = 200 ]; then
      end=$(date +%s.%N); awk -v s="$start" -v e="$end" 'BEGIN {printf "%.2f", e - s}'; return 0
    fi
    sleep 0.02
  done
  echo "network.sh: appliance did not become healthy; see $WORK/serve.log" >&2
  return 1
}
rss_mb() { awk '/^VmRSS:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }
hwm_mb() { awk '/^VmHWM:/ {printf "%.0f", $2 / 1024}' "/proc/$1/status"; }

# ---- the PKI: release `appliance demo` (ceremonies, appliance, two agents) ----
log "== $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/appliance" demo --dir "$DEMO" >"$WORK/demo.log" 2>&1 &
DEMO_PID=$!
PIDS+=("$DEMO_PID")
for _ in $(seq 600); do grep -q "press Ctrl-C to stop" "$WORK/demo.log" && break; sleep 0.5; done
grep -q "press Ctrl-C to stop" "$WORK/demo.log" || { echo "demo failed:"; tail -30 "$WORK/demo.log"; exit 1; }
kill -INT "$DEMO_PID"; wait "$DEMO_PID" 2>/dev/null || true
stop_serve
HTTPS_PORT=$(awk '/^https:/ {s=1} s && /port:/ {print $2; exit}' "$DEMO/appliance.yaml")
HTTP_PORT=$(awk '/^http:/ {s=1} s && /port:/ {print $2; exit}' "$DEMO/appliance.yaml")
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

# wrk with the client-certificate shim: prints requests/s; fails on socket errors or non-2xx.
wrk_rate() { # label connections url [wrk args...]
  local label=$1 connections=$2 url=$3; shift 3
  local out=$WORK/wrk-$label-$RANDOM.txt
  # The URL before the options: everything after `--` goes to the Lua script.
  env LD_PRELOAD="$SHIM" ${WRK_ENV:-} wrk -t2 -c"$connections" -d"${SECS}s" "$url" "$@" >"$out" 2>&1
  # Read errors with `Connection: close` are the server closing after its answer; non-2xx is a failure.
  if grep -q 'Non-2xx' "$out"; then echo "network.sh: $label: run invalid, non-2xx answers: $(grep Non-2xx "$out")" >&2; fi
  grep -q '^Requests/sec:' "$out" || { echo "network.sh: $label: wrk failed: $(head -3 "$out")" >&2; echo 0; return; }
  awk '/^Requests\/sec:/ {print $2}' "$out"
}
compare() { # name ours-command peer-command  (alternating, RUNS times each)
  local name=$1 ours=() peer=()
  for _ in $(seq "$RUNS"); do ours+=("$(eval "$2")"); peer+=("$(eval "$3")"); done
  local o p
  o=$(echo "${ours[*]}" | median); p=$(echo "${peer[*]}" | median)
  log "$(printf '%-44s ours %9.0f/s (runs: %s) | peer %9.0f/s (runs: %s) | ratio %s' "$name" "$o" "${ours[*]}" "$p" "${peer[*]}" "$(ratio "$o" "$p")")"
  LAST_OURS=$o; LAST_PEER=$p
}
CLIENT="PERF_CLIENT_CERT=$CERT PERF_CLIENT_KEY=$KEY"

if [[ " $ONLY " == *" 1 "* ]]; then
  WRK_ENV="$CLIENT" compare "1. mTLS keep-alive req/s (32 conns)" \
    'WRK_ENV="$CLIENT" wrk_rate ours-keepalive 32 https://127.0.0.1:$HTTPS_PORT/api/v1/agent/status' \
    'WRK_ENV="$CLIENT" wrk_rate nginx-keepalive 32 https://127.0.0.1:$NGINX_PORT/status.json'
fi
if [[ " $ONLY " == *" 2 "* || " $ONLY " == *" 3 "* ]]; then
  compare "2. mTLS full handshakes/s (16 conns, close)" \
    'WRK_ENV="$CLIENT PERF_NO_RESUME=1" wrk_rate ours-handshake 16 https://127.0.0.1:$HTTPS_PORT/api/v1/agent/status -H "Connection: close"' \
    'WRK_ENV="$CLIENT PERF_NO_RESUME=1" wrk_rate nginx-handshake 16 https://127.0.0.1:$NGINX_PORT/status.json -H "Connection: close"'
  NGINX_HANDSHAKES=$LAST_PEER
fi
if [[ " $ONLY " == *" 3 "* ]]; then
  total=$((EST_PER_RUN * RUNS))
  "$BIN/rootkeeper-bench" est-prepare --state "$STATE" --count "$total" --out "$WORK/est.txt" | tee -a "$WORK/summary.txt" >&2
  before=$(sqlite3 "$STATE/db/rootkeeper.sqlite" "SELECT COUNT(*) FROM certificates WHERE status='issued' AND subject LIKE '%agent-bench-%'")
  est=()
  for run in $(seq 0 $((RUNS - 1))); do
    # No client certificate: a new agent has none. PERF_NO_RESUME=1: every connection a full handshake.
    est+=("$(WRK_ENV="PERF_NO_RESUME=1" wrk_rate est 16 "https://127.0.0.1:$HTTPS_PORT/.well-known/est/simpleenroll" \
      -s "$ROOT/scripts/bench/est.lua" -- "$WORK/est.txt" $((run * EST_PER_RUN)) "$EST_PER_RUN" 2)")
  done
  after=$(sqlite3 "$STATE/db/rootkeeper.sqlite" "SELECT COUNT(*) FROM certificates WHERE status='issued' AND subject LIKE '%agent-bench-%'")
  raw=$(openssl speed -seconds 3 ecdsap256 2>/dev/null | awk '/256 bits ecdsa \(nistp256\)/ {print $(NF-1)}')
  e=$(echo "${est[*]}" | median)
  log "$(printf '%-44s ours %9.0f/s (runs: %s; %s certificates issued and stored) | nginx handshakes %9.0f/s | ratio %s | raw openssl sign %s/s (ratio %s)' \
    "3. EST enrolments/s (token, new TLS each)" "$e" "${est[*]}" "$((after - before))" "$NGINX_HANDSHAKES" "$(ratio "$e" "$NGINX_HANDSHAKES")" "$raw" "$(ratio "$e" "$raw")")"
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
  openssl_ocsp_rate() {
    local port log
    port=$(free_port); log=$WORK/ocsp/openssl-$port.log
    openssl ocsp -index "$WORK/ocsp/index.txt" -port "$port" -CA "$INTERMEDIATE" -rsigner "$INTERMEDIATE" \
      -rkey "$WORK/ocsp/intermediate.key" -ignore_err >"$log" 2>&1 &
    local pid=$!
    for _ in $(seq 200); do grep -qi 'waiting for OCSP client' "$log" && break; sleep 0.02; done
    "$WORK/seqpost" "$port" / "$WORK/ocsp/request.der" "$SECS" | awk '{print $3}'
    kill -KILL "$pid"; wait "$pid" 2>/dev/null || true
  }
  compare "4. OCSP resp/s, sequential, 1 conn/request" \
    '"$WORK/seqpost" "$HTTP_PORT" /ocsp "$WORK/ocsp/request.der" "$SECS" | awk "{print \$3}"' \
    'openssl_ocsp_rate'
  SEQ_OCSP=$LAST_OURS; OPENSSL_OCSP=$LAST_PEER
  ka=(); cl=()
  for _ in $(seq "$RUNS"); do
    ka+=("$(WRK_ENV= wrk_rate ocsp-keepalive 32 "http://127.0.0.1:$HTTP_PORT/ocsp" -s "$ROOT/scripts/bench/post-file.lua" -- "$WORK/ocsp/request.der" application/ocsp-request)")
    cl+=("$(WRK_ENV= wrk_rate ocsp-close 16 "http://127.0.0.1:$HTTP_PORT/ocsp" -s "$ROOT/scripts/bench/post-file.lua" -- "$WORK/ocsp/request.der" application/ocsp-request close)")
  done
  k=$(echo "${ka[*]}" | median); c=$(echo "${cl[*]}" | median)
  log "$(printf '%-44s ours %9.0f/s keep-alive 32 conns (runs: %s), %9.0f/s new connection each 16 conns (runs: %s) | vs openssl %s: %s / %s' \
    "4b. OCSP resp/s with wrk" "$k" "${ka[*]}" "$c" "${cl[*]}" "$OPENSSL_OCSP" "$(ratio "$k" "$OPENSSL_OCSP")" "$(ratio "$c" "$OPENSSL_OCSP")")"
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
  "$BIN/rootkeeper-bench" revocation-latency --state "$STATE" --http-port "$HTTP_PORT" --serial "$target" \
    --request "$WORK/revoke-request.der" --timeout 60 2>&1 | tee -a "$WORK/summary.txt" >&2
  log "   serve peak RSS after the revocation: $(hwm_mb "$(serve_pid)") MB"
fi
log "== done; summary copied to .build-release/network-summary.txt"
cp "$WORK/summary.txt" "$ROOT/.build-release/network-summary.txt" 2>/dev/null || true
