#!/usr/bin/env bash
# Release-mode benchmarks against peers measured in the same run (DESIGN §7). Results go to
# BENCHMARKS.md by hand, with the date, commit and machine.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
scripts/install-deps.sh
swift build -c release --product rootkeeper-bench --scratch-path .build-release
bench=.build-release/release/rootkeeper-bench
$bench issuance --seconds "${SECONDS_PER_RUN:-5}"
$bench issuance --seconds "${SECONDS_PER_RUN:-5}" --rsa
$bench crl
$bench ocsp --seconds "${SECONDS_PER_RUN:-5}"
