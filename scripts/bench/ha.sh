#!/usr/bin/env bash
# Several appliance nodes on PostgreSQL (docs/configuration.md#store), in one run on one PKI and one
# machine, three set-ups side by side:
#   A. one node on SQLite (the default), B. one node on PostgreSQL, C. two nodes on one PostgreSQL.
# For each: EST enrolments/s (one-time token, new TLS connection each, as network.sh §3; with two
# nodes, two wrk at once, one per node, rates added) and revoke → visible latency: revoked through
# the first node's admin socket, timed until OCSP says revoked and the served CRL lists it on the
# node that answers — the same node for A and B, the OTHER node for C (rootkeeper-bench
# revocation-latency).
# PostgreSQL is a throwaway cluster (scripts/lib/postgres.sh: initdb + pg_ctl, fsync on, loopback).
# Environment: RUNS (default 3), SECONDS_PER_RUN (default 5), EST_PER_RUN (tokens per run, default
# 4000), SMOKE=1 (1 run of 1 s, 400 tokens), KEEP=1 (keep the work directory), BIN (binaries).
set -euo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
BIN=${BIN:-$ROOT/.build-release/release}
RUNS=${RUNS:-3}
SECS=${SECONDS_PER_RUN:-5}
EST_PER_RUN=${EST_PER_RUN:-4000}
EST_SOURCE_LIMIT=${EST_SOURCE_LIMIT:-1000000}
FAILED=0
if [ "${SMOKE:-0}" = 1 ]; then RUNS=1; SECS=1; EST_PER_RUN=400; fi
for tool in "$BIN/appliance" "$BIN/rootkeeper-bench" wrk openssl sqlite3 curl gcc psql; do
  command -v "$tool" >/dev/null || { echo "ha.sh: $tool not found (build: swift build -c release --scratch-path .build-release)" >&2; exit 1; }
done

WORK=$(mktemp -d /tmp/rk-bench-ha.XXXXXX)
chmod 755 "$WORK"   # `serve` runs as nobody when started as root: it must reach the state
DEMO=$WORK/demo
PIDS=()
# shellcheck source=scripts/lib/postgres.sh
. "$ROOT/scripts/lib/postgres.sh"
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  stop_all_serves
  stop_test_postgres
  if [ "${KEEP:-0}" = 1 ]; then echo "work directory kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

log() { printf '%s\n' "$*" | tee -a "$WORK/summary.txt" >&2; }
median() { tr ' ' '\n' | grep -v '^$' | sort -g | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

# `appliance serve` processes of this run (they re-execute themselves as nobody: found by command
# line, which names a state directory under $WORK); only those are ever signalled.
serve_pids() {
  local pid
  for pid in $(ls /proc | grep -E '^[0-9]+$'); do
    if (tr '\0' ' ' <"/proc/$pid/cmdline") 2>/dev/null | grep -q "serve --state-dir $WORK/"; then echo "$pid"; fi
  done
}
stop_all_serves() {
  local pids pid
  pids=$(serve_pids) || true
  [ -n "$pids" ] || return 0
  for pid in $pids; do kill -TERM "$pid" 2>/dev/null || true; done
  for _ in $(seq 100); do
    local alive=0
    for pid in $pids; do kill -0 "$pid" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && return 0
    sleep 0.1
  done
  for pid in $pids; do kill -KILL "$pid" 2>/dev/null || true; done
}
# A configuration for STATE with fixed ports (the demo's with port 0 replaced) and an optional store section.
write_config() { # file state https-port http-port [store-yaml]
  awk -v state="$2" -v https="$3" -v http="$4" '
    /^state_directory:/ { print "state_directory: " state; next }
    /^https:/ { section = "https" } /^http:/ { section = "http" } /^[a-z]/ && !/^https?:/ { section = "" }
    section != "" && /^  port:/ { print "  port: " (section == "https" ? https : http); next }
    { print }' "$DEMO/appliance.yaml" >"$1"
  grep -q '^limits:' "$DEMO/appliance.yaml" && { echo "ha.sh: the demo configuration has a limits section; merge EST_SOURCE_LIMIT into it" >&2; exit 1; }
  # The benchmark's own limit (production default 120/min per source): every wrk token comes from
  # one address, and a run whose answers are 429 measures the limiter, not issuance.
  printf 'limits:\n  enrollments_per_minute_per_source: %s\n' "$EST_SOURCE_LIMIT" >>"$1"
  [ -z "${5:-}" ] || printf '%s\n' "$5" >>"$1"
  chmod 644 "$1"
}
start_serve() { # state config http-port
  "$BIN/appliance" serve --state-dir "$1" --config "$2" --passphrase-file "$DEMO/secrets/intermediate.passphrase" >>"$WORK/serve.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 6000); do
    [ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$3/health")" = 200 ] && return 0
    sleep 0.02
  done
  echo "ha.sh: appliance ($1) did not become healthy; see $WORK/serve.log" >&2
  return 1
}
store_yaml() { # database
  printf 'store:\n  kind: postgresql\n  hosts: ["127.0.0.1:%s"]\n  database: %s\n  user: rootkeeper\n' "$PG_PORT" "$1"
}
wrk_rate() { # label connections url [wrk args...]
  local label=$1 connections=$2 url=$3; shift 3
  local out=$WORK/wrk-$label-$RANDOM.txt
  env LD_PRELOAD="$SHIM" PERF_NO_RESUME=1 wrk -t2 -c"$connections" -d"${SECS}s" "$url" "$@" >"$out" 2>&1
  # A run with non-2xx answers or socket errors is invalid: FAIL, never a rate (docs/performance.md).
  if grep -qE 'Non-2xx|Socket errors' "$out" || ! grep -q '^Requests/sec:' "$out"; then
    echo "ha.sh: INVALID RUN $label: $(grep -E 'Non-2xx|Socket errors' "$out" | tr '\n' ' ')$(grep -q '^Requests/sec:' "$out" || head -3 "$out")" >&2
    echo FAIL
    return
  fi
  awk '/^Requests\/sec:/ {print $2}' "$out"
}

# ---- the PKI (release `appliance demo`), a pristine copy of its state, PostgreSQL ----
log "== $(date -u +%FT%TZ) commit $(git rev-parse --short HEAD) $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
"$BIN/appliance" demo --dir "$DEMO" >"$WORK/demo.log" 2>&1 &
DEMO_PID=$!
PIDS+=("$DEMO_PID")
for _ in $(seq 600); do grep -q "press Ctrl-C to stop" "$WORK/demo.log" && break; sleep 0.5; done
grep -q "press Ctrl-C to stop" "$WORK/demo.log" || { echo "demo failed:"; tail -30 "$WORK/demo.log"; exit 1; }
kill -INT "$DEMO_PID"; wait "$DEMO_PID" 2>/dev/null || true
stop_all_serves
cp -a "$DEMO/state" "$WORK/pristine"
SHIM=$WORK/wrkcert.so
gcc -shared -fPIC -O2 -o "$SHIM" /work/shared/tools/wrk_clientcert.c -ldl 2>/dev/null \
  || gcc -shared -fPIC -O2 -o "$SHIM" "$ROOT/scripts/bench/wrk_clientcert.c" -ldl
start_test_postgres >&2
PG_PORT=${ROOTKEEPER_TEST_POSTGRES_URL##*:}; PG_PORT=${PG_PORT%%/*}
pg() { psql -X -q -A -t -h 127.0.0.1 -p "$PG_PORT" -U rootkeeper -d "$1" -c "$2"; }

# One set-up: NAME, the node states (first one revokes), their https/http ports, how to count issued
# certificates and find one to revoke (SQL run by COUNT_CMD).
measure() { # name count-cmd state1 https1 http1 [state2 https2 http2]
  local name=$1 count_cmd=$2 s1=$3 https1=$4 http1=$5 s2=${6:-} https2=${7:-} http2=${8:-}
  local total=$((EST_PER_RUN * RUNS))
  "$BIN/rootkeeper-bench" est-prepare --state "$s1" --count "$total" --out "$WORK/est-$name.txt" --prefix "bench-$name" >&2
  local before after rates=() run half
  before=$(eval "$count_cmd \"SELECT COUNT(*) FROM certificates WHERE status='issued' AND subject LIKE '%bench-$name-%'\"")
  for run in $(seq 0 $((RUNS - 1))); do
    if [ -z "$s2" ]; then
      rates+=("$(wrk_rate "est-$name" 16 "https://127.0.0.1:$https1/.well-known/est/simpleenroll" \
        -s "$ROOT/scripts/bench/est.lua" -- "$WORK/est-$name.txt" $((run * EST_PER_RUN)) "$EST_PER_RUN" 2)")
    else
      # Two wrk at once, 8 connections each, disjoint halves of this run's tokens; the rates add up.
      half=$((EST_PER_RUN / 2))
      wrk_rate "est-$name-1" 8 "https://127.0.0.1:$https1/.well-known/est/simpleenroll" \
        -s "$ROOT/scripts/bench/est.lua" -- "$WORK/est-$name.txt" $((run * EST_PER_RUN)) "$half" 2 >"$WORK/rate1" &
      local w1=$!
      wrk_rate "est-$name-2" 8 "https://127.0.0.1:$https2/.well-known/est/simpleenroll" \
        -s "$ROOT/scripts/bench/est.lua" -- "$WORK/est-$name.txt" $((run * EST_PER_RUN + half)) "$half" 2 >"$WORK/rate2"
      wait "$w1"
      if grep -q FAIL "$WORK/rate1" "$WORK/rate2"; then rates+=(FAIL); else
        rates+=("$(awk '{s += $1} END {printf "%.1f", s}' "$WORK/rate1" "$WORK/rate2")")
      fi
    fi
  done
  after=$(eval "$count_cmd \"SELECT COUNT(*) FROM certificates WHERE status='issued' AND subject LIKE '%bench-$name-%'\"")
  local target observer=${http2:-$http1}
  target=$(eval "$count_cmd \"SELECT serial FROM certificates WHERE status='issued' AND type='agent' ORDER BY issued_at DESC LIMIT 1\"")
  openssl ocsp -issuer "$s1/ca/intermediate-ca.crt" -serial "0x$target" -no_nonce -reqout "$WORK/revoke-$name.der" >/dev/null
  local latency
  latency=$("$BIN/rootkeeper-bench" revocation-latency --state "$s1" --http-port "$observer" --serial "$target" \
    --request "$WORK/revoke-$name.der" --timeout 60 2>&1 | tr '\n' ' ') || latency="$latency (rootkeeper-bench revocation-latency failed)"
  if [[ " ${rates[*]} " == *FAIL* ]]; then
    FAILED=1
    log "$(printf '%-34s EST FAIL (a run had non-2xx answers or errors: %s) | revoke on node 1, seen on %s: %s' \
      "$name" "${rates[*]}" "$([ -n "$s2" ] && echo "node 2" || echo "node 1")" "$latency")"
    return
  fi
  log "$(printf '%-34s EST %8.0f/s (runs: %s; %s certificates stored; benchmark config: limits.enrollments_per_minute_per_source=%s, production default 120) | revoke on node 1, seen on %s: %s' \
    "$name" "$(echo "${rates[*]}" | median)" "${rates[*]}" "$((after - before))" "$EST_SOURCE_LIMIT" \
    "$([ -n "$s2" ] && echo "node 2" || echo "node 1")" "$latency")"
}

# A. one node, SQLite.
P1=$(free_port); P2=$(free_port)
write_config "$WORK/sqlite.yaml" "$WORK/sqlite" "$P1" "$P2"
cp -a "$WORK/pristine" "$WORK/sqlite"
start_serve "$WORK/sqlite" "$WORK/sqlite.yaml" "$P2"
measure "a-one-node-sqlite" "sqlite3 $WORK/sqlite/db/rootkeeper.sqlite" "$WORK/sqlite" "$P1" "$P2"
stop_all_serves

# B. one node, PostgreSQL (the pristine SQLite store migrated into a fresh database).
pg postgres "CREATE DATABASE bench_one"
P1=$(free_port); P2=$(free_port)
cp -a "$WORK/pristine" "$WORK/pg-one"
write_config "$WORK/pg-one.yaml" "$WORK/pg-one" "$P1" "$P2" "$(store_yaml bench_one)"
"$BIN/appliance" store migrate --state-dir "$WORK/pg-one" --config "$WORK/pg-one.yaml" >&2
[ "$(id -u)" -ne 0 ] || chown -R nobody: "$WORK/pg-one"
start_serve "$WORK/pg-one" "$WORK/pg-one.yaml" "$P2"
measure "b-one-node-postgresql" "pg bench_one" "$WORK/pg-one" "$P1" "$P2"
stop_all_serves

# C. two nodes, one PostgreSQL database; the second node is a copy of the first without db/.
pg postgres "CREATE DATABASE bench_two"
P1=$(free_port); P2=$(free_port); P3=$(free_port); P4=$(free_port)
cp -a "$WORK/pristine" "$WORK/pg-two-a"
write_config "$WORK/pg-two-a.yaml" "$WORK/pg-two-a" "$P1" "$P2" "$(store_yaml bench_two)"
"$BIN/appliance" store migrate --state-dir "$WORK/pg-two-a" --config "$WORK/pg-two-a.yaml" >&2
cp -a "$WORK/pg-two-a" "$WORK/pg-two-b"
rm -rf "$WORK/pg-two-b/db" "$WORK/pg-two-b/admin.sock"
write_config "$WORK/pg-two-b.yaml" "$WORK/pg-two-b" "$P3" "$P4" "$(store_yaml bench_two)"
[ "$(id -u)" -ne 0 ] || chown -R nobody: "$WORK/pg-two-a" "$WORK/pg-two-b"
start_serve "$WORK/pg-two-a" "$WORK/pg-two-a.yaml" "$P2"
start_serve "$WORK/pg-two-b" "$WORK/pg-two-b.yaml" "$P4"
measure "c-two-nodes-postgresql" "pg bench_two" "$WORK/pg-two-a" "$P1" "$P2" "$WORK/pg-two-b" "$P3" "$P4"
stop_all_serves

log "== done; summary copied to .build-release/ha-summary.txt"
cp "$WORK/summary.txt" "$ROOT/.build-release/ha-summary.txt" 2>/dev/null || true
[ "$FAILED" = 0 ] || { echo "ha.sh: at least one row FAILED (see above)" >&2; exit 1; }
