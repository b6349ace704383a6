#!/usr/bin/env bash
# Release-mode benchmarks against peers measured in the same run (docs/performance.md). Results go to
# BENCHMARKS.md by hand, with the date, commit and machine.
#   scripts/bench.sh            in-process benchmarks, then the network ones (scripts/bench/network.sh)
#   SMOKE=1 scripts/bench.sh    tiny counts, to check that everything still runs
#   ONLY=network / ONLY=inprocess / ONLY=ha   one part only (ha: scripts/bench/ha.sh, SQLite vs
#                                             PostgreSQL, one node vs two; network runs it too)
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh
for product in rootkeeper-bench appliance ceremony agent; do
  swift build -c release --product "$product" --scratch-path .build-release
done
bench=.build-release/release/rootkeeper-bench
seconds=${SECONDS_PER_RUN:-5}
[ "${SMOKE:-0}" = 1 ] && seconds=1
if [ "${ONLY:-}" != network ] && [ "${ONLY:-}" != ha ]; then
  $bench issuance --seconds "$seconds"
  $bench issuance --seconds "$seconds" --rsa
  if [ "${SMOKE:-0}" = 1 ]; then $bench crl --entries 1000; else $bench crl; fi
  $bench ocsp --seconds "$seconds"
  if [ "${SMOKE:-0}" = 1 ]; then $bench store-walk --entries 1000; else $bench store-walk; fi
fi
if [ "${ONLY:-}" != inprocess ] && [ "${ONLY:-}" != ha ]; then
  ONLY= scripts/bench/network.sh
fi
if [ "${ONLY:-}" != inprocess ]; then
  scripts/bench/ha.sh
fi
