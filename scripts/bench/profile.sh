# shellcheck shell=bash
# Per-row profiles for scripts/bench/network.sh (sourced by it when PROFILE=1; not run on its own).
#
# Two measurements per row, both for our server and for the peer of the same row:
#   - the CPU split: CPU seconds (utime + stime from /proc/PID/stat, all threads) the serving
#     process(es) used during each measured run, and the CPU seconds of the load generator
#     (wrk, seqpost: /usr/bin/time), both divided by the requests the run completed. On a machine
#     whose cores the client and the server share, a run that saturates the cores has
#       rate ≈ cores / (client CPU per request + server CPU per request),
#     so a server that cost nothing would still be held at cores / client CPU per request, and the
#     best ratio any server could reach against the peer is
#       (peer's client + peer's server CPU per request) / our client CPU per request.
#     That bound is printed per row ("a zero-cost server: ≤ N×"), with the server CPU per request
#     that the row's target would allow.
#   - where the time goes: one extra run of each side (not counted in the rates) under
#     `perf record -a -g -e cpu-clock` (the machine has no hardware counters; cpu-clock sampling
#     works), reported as the top symbols of the serving process and of the load generator, with
#     their share of that process's samples; Swift names demangled by swift-demangle.
#
# Environment: PROFILE_TOP (symbols per process, default 15), PROFILE_HZ (sampling rate, default 499).

PROFILE_DIR=$WORK/profile
mkdir -p "$PROFILE_DIR"
PROFILE_TOP=${PROFILE_TOP:-15}
PROFILE_HZ=${PROFILE_HZ:-499}
command -v perf >/dev/null || { echo "network.sh: PROFILE=1 needs perf (scripts/install-deps.sh)" >&2; exit 1; }
[ -x /usr/bin/time ] || { echo "network.sh: PROFILE=1 needs /usr/bin/time (scripts/install-deps.sh)" >&2; exit 1; }
DEMANGLE=cat
command -v swift-demangle >/dev/null && DEMANGLE="swift-demangle --simplified"
CLOCK_TICKS=$(getconf CLK_TCK)

# utime + stime of the given processes (all their threads), in clock ticks.
profile_ticks() { # pid...
  local total=0 pid ticks
  for pid in "$@"; do
    # Fields after "pid (comm) ": $1 is field 3 (state), so utime (14) is $12 and stime (15) is $13.
    ticks=$(awk '{sub(/^.*\) /, ""); print $12 + $13}' "/proc/$pid/stat" 2>/dev/null) || continue
    total=$((total + ${ticks:-0}))
  done
  echo "$total"
}

# The serving processes of a run, by its label: the appliance, nginx's master and workers,
# cfssl, or the `openssl ocsp` responder (OPENSSL_OCSP_PID, set while it runs).
profile_server_pids() { # label
  case $1 in
    nginx-*) local master; master=$(cat "$WORK/nginx.pid"); echo "$master $(pgrep -P "$master" | tr '\n' ' ')" ;;
    cfssl-*) cat "$WORK/cfssl.pid" ;;
    openssl*) echo "${OPENSSL_OCSP_PID:-}" ;;
    *) serve_pid ;;
  esac
}

# Runs a load generator under /usr/bin/time and records, for the run's label, the client's and
# the server's CPU seconds. The requests are added by profile_requests once the run is parsed.
profile_run() { # label command...
  local label=$1; shift
  local pids before after
  pids=$(profile_server_pids "$label")
  before=$(profile_ticks $pids)
  /usr/bin/time -f '%U %S' -o "$PROFILE_DIR/time-$label" "$@"
  local status=$?
  after=$(profile_ticks $pids)
  local client
  client=$(awk 'END {print $1 + $2}' "$PROFILE_DIR/time-$label" 2>/dev/null)
  printf '%s %s\n' "${client:-0}" "$(awk -v t=$((after - before)) -v hz="$CLOCK_TICKS" 'BEGIN {print t / hz}')" >"$PROFILE_DIR/pending-$label"
  return $status
}
profile_requests() { # label requests   (after a successful run)
  local pending="$PROFILE_DIR/pending-$1"
  [ -f "$pending" ] || return 0
  printf '%s %s\n' "$(cat "$pending")" "$2" >>"$PROFILE_DIR/cpu-$1.txt"
  rm -f "$pending"
}

# One line per side: requests, CPU per request for client and server (µs), the client's share.
# Sets PROFILE_C/PROFILE_S (µs per request) for the bound.
profile_split() { # label
  local file="$PROFILE_DIR/cpu-$1.txt"
  [ -s "$file" ] || { PROFILE_C=""; PROFILE_S=""; return 1; }
  read -r PROFILE_C PROFILE_S PROFILE_N < <(awk '{c += $1; s += $2; n += $3} END {if (n > 0) printf "%.1f %.1f %d", 1e6 * c / n, 1e6 * s / n, n}' "$file")
  [ -n "${PROFILE_N:-}" ] || return 1
  log "$(printf '   CPU split %-16s %8d requests: client %8.1f µs/request, server %8.1f µs/request (client %s %% of the CPU)' \
    "$1" "$PROFILE_N" "$PROFILE_C" "$PROFILE_S" "$(awk -v c="$PROFILE_C" -v s="$PROFILE_S" 'BEGIN {printf "%.0f", 100 * c / (c + s)}')")"
}
# The bound of a row: ours against the peer's total CPU per request.
profile_bound() { # row ours-label peer-label target
  local oc os pc ps
  profile_split "$2" || return 0; oc=$PROFILE_C; os=$PROFILE_S
  profile_split "$3" || return 0; pc=$PROFILE_C; ps=$PROFILE_S
  log "$(awk -v oc="$oc" -v os="$os" -v pc="$pc" -v ps="$ps" -v t="$4" -v row="$1" 'BEGIN {
    printf "   bound %s: CPU per request ours %.0f µs (client %.0f + server %.0f), peer %.0f µs; CPU-bound ratio %.2f×; a zero-cost server: ≤ %.2f×; target %s× allows the server ≤ %.0f µs/request (now %.0f)",
      row, oc + os, oc, os, pc + ps, (pc + ps) / (oc + os), (pc + ps) / oc, t, (pc + ps) / t - oc, os }')"
}

# Top symbols of a perf recording, for one process (--pid) or one command name (--comms), with
# their share of that process's samples; Swift names demangled. Also the share per library, and
# the share of cryptography: libcrypto/libssl for the peers and the load generators, BoringSSL's
# symbols (statically linked into our binary) for the appliance.
profile_top() { # data title filter-option filter-value
  local report out dsos crypto samples
  report=$( (perf report -i "$1" --no-children --percentage relative --sort dso,sym -g none --stdio "$3" "$4" 2>/dev/null || true) | $DEMANGLE)
  out=$(awk -v top="$PROFILE_TOP" '/^ +[0-9.]+%/ && n < top {pct = $1; $1 = ""; line = substr($0, 2); if (length(line) > 150) line = substr(line, 1, 147) "..."; printf "      %7s  %s\n", pct, line; n++}' <<<"$report")
  dsos=$(awk '/^ +[0-9.]+%/ {sub(/%/, "", $1); d[$2] += $1} END {for (k in d) printf "%.1f %s\n", d[k], k}' <<<"$report" | sort -rn | head -5 | awk '{printf "%s%s %s %%", (NR > 1 ? ", " : ""), $2, $1}')
  crypto=$(awk '/^ +[0-9.]+%/ && (/libcrypto|libssl|BoringSSL|ecp_nistz256|fiat_|[ _]bn_|sha256_block|sha512_block|aes_hw|gcm_|x25519|chacha|poly1305|p256_|ec_GFp|ecdsa|ECDSA/) {sub(/%/, "", $1); s += $1} END {printf "%.1f", s}' <<<"$report")
  samples=$(awk '/^# Samples:/ {print $3; exit}' <<<"$report")
  log "   profile: $2 (${samples:-?} cpu-clock samples at ${PROFILE_HZ} Hz; whole system sampled, this process only)"
  log "      by library: ${dsos:-none}; cryptography (libcrypto/libssl, BoringSSL symbols): ${crypto:-0} %"
  if [ -n "$out" ]; then log "$out"; fi
}

# One profiled run of a side (not part of the rates): perf samples the whole system while the
# command runs, then the serving process's and the load generator's top symbols are printed.
profile_perf() { # label client-comm command...
  local label=$1 comm=$2; shift 2
  local data="$PROFILE_DIR/perf-$label.data" pids
  pids=$(profile_server_pids "$label")
  perf record -q -a -g -e cpu-clock -F "$PROFILE_HZ" -o "$data" >/dev/null 2>"$PROFILE_DIR/perf-$label.err" &
  local recorder=$!
  sleep 0.5
  "$@" >/dev/null 2>&1 || true
  kill -INT "$recorder"; wait "$recorder" 2>/dev/null || true
  if [ ! -s "$data" ]; then log "   profile $label: perf recorded nothing ($(head -2 "$PROFILE_DIR/perf-$label.err" | tr '\n' ' '))"; return 0; fi
  if [ -n "$pids" ]; then
    profile_top "$data" "$label server (pid $(echo $pids | tr ' ' ','))" --pid "$(echo $pids | tr ' ' ',')"
  else # a responder started by the run itself (openssl ocsp): by its command name
    profile_top "$data" "$label server (${label%%-*})" --comms "${label%%-*}"
  fi
  profile_top "$data" "$label client ($comm)" --comms "$comm"
}
