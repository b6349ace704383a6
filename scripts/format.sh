#!/usr/bin/env bash
# Formats the Swift sources with the toolchain's swift-format and the repository's .swift-format
# (4-space indentation, 150 columns), or with --check only reports what is not formatted and
# fails: scripts/test.sh runs the check, so CI refuses unformatted code. Fix with scripts/format.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"
paths=(Package.swift Sources Tests Fuzz Benchmarks)
if [ "${1:-}" = "--check" ]; then
  if ! swift format lint --strict --recursive --parallel "${paths[@]}"; then
    echo "format: the files above are not formatted as .swift-format says; run scripts/format.sh" >&2
    exit 1
  fi
else
  swift format format --in-place --recursive --parallel "${paths[@]}"
fi
