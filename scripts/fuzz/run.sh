#!/usr/bin/env bash
# Builds the libFuzzer binary (debug + AddressSanitizer, in .build-fuzz) and runs fuzz targets for
# a bounded time each. See scripts/fuzz/README.md and FUZZING.md.
#
#   scripts/fuzz/run.sh [--smoke] [--time SECONDS] [--runs N] [--build-only] [TARGET...]
#
# --smoke       CI: every target for a few seconds (the whole smoke stays under 30 s a target,
#               build excluded), only to show the targets build and run.
# --time S      -max_total_time per target (default 60).
# --runs N      -runs per target (stop after N executions; with --time, whichever comes first).
# --build-only  build, run nothing.
# TARGET...     a subset (default: every target the binary lists).
#
# Corpora: .build-fuzz/seeds/<target> (made by the product's encoders at each run),
# Fuzz/corpus/<target> (committed inputs that once broke a parser) and .build-fuzz/corpus/<target>
# (what libFuzzer finds, git-ignored). Crashes, leaks and timeouts land in .build-fuzz/findings/<target>/ and make
# the script exit non-zero. Each target's final libFuzzer stats line is written to
# .build-fuzz/logs/<target>.log.
set -euo pipefail
cd "$(dirname "$0")/../.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

time_per_target=60 runs="" smoke=0 build_only=0 targets=()
while [ $# -gt 0 ]; do
    case "$1" in
        --smoke) smoke=1 ;;
        --time) time_per_target="$2"; shift ;;
        --runs) runs="$2"; shift ;;
        --build-only) build_only=1 ;;
        -h|--help) sed -n '2,18p' "$0"; exit 0 ;;
        -*) echo "run.sh: unknown option $1" >&2; exit 2 ;;
        *) targets+=("$1") ;;
    esac
    shift
done
[ "$smoke" = 1 ] && time_per_target=5

scratch=.build-fuzz
# A second full build of the package and its dependencies, kept to debug + sanitizers: the
# fuzzer instruments every Swift module (coverage + ASan); testable imports reach internal parsers.
ROOTKEEPER_FUZZ=1 swift build --scratch-path "$scratch" -c debug --product RootkeeperFuzz \
    -Xswiftc -sanitize=fuzzer,address 2>&1 | tail -20
binary="$scratch/debug/RootkeeperFuzz"
[ -x "$binary" ] || { echo "run.sh: $binary was not built" >&2; exit 1; }
[ "$build_only" = 1 ] && exit 0

# ASan's exit-time leak report off: libFuzzer's own -detect_leaks (on by default) still reports a
# leak that grows with the inputs; one-off allocations at start-up (Swift runtime caches,
# swift-crypto's RSA key generation for the seeds) are not findings.
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=0:allocator_may_return_null=1}"

# Seeds made by the product's own encoders (Fuzz/RootkeeperFuzz/FuzzSeeds.swift), fresh each run.
rm -rf "$scratch/seeds"
ROOTKEEPER_FUZZ_SEEDS="$scratch/seeds" "$binary" >/dev/null 2>"$scratch/seeds.log" || { cat "$scratch/seeds.log" >&2; exit 1; }

if [ ${#targets[@]} -eq 0 ]; then
    # The binary names its targets when started without one.
    read -r -a targets <<<"$(ROOTKEEPER_FUZZ_TARGET= "$binary" -runs=0 2>&1 | sed -n 's/^set ROOTKEEPER_FUZZ_TARGET to one of: //p')"
fi
[ ${#targets[@]} -gt 0 ] || { echo "run.sh: no fuzz targets found" >&2; exit 1; }

status=0
for target in "${targets[@]}"; do
    corpus="$scratch/corpus/$target" findings="$scratch/findings/$target"
    mkdir -p "$corpus" "$findings" "$scratch/logs" "$scratch/seeds/$target"
    # The first directory is where libFuzzer adds what it finds; the others are read only.
    dirs=("$corpus" "$scratch/seeds/$target")
    [ -d "Fuzz/corpus/$target" ] && dirs+=("Fuzz/corpus/$target")
    log="$scratch/logs/$target.log"
    args=(-max_total_time="$time_per_target" -rss_limit_mb=2048 -timeout=10 -malloc_limit_mb=2048
          -max_len=65536 -print_final_stats=1 -artifact_prefix="$findings/")
    [ -n "$runs" ] && args+=(-runs="$runs")
    [ -f "Fuzz/dictionaries/$target.dict" ] && args+=(-dict="Fuzz/dictionaries/$target.dict")
    echo "== $target (${time_per_target}s${runs:+, ≤ $runs runs})"
    started=$(date +%s)
    if ROOTKEEPER_FUZZ_TARGET="$target" "$binary" "${args[@]}" "${dirs[@]}" >"$log" 2>&1; then
        # One Markdown row a target for FUZZING.md: executions, seconds, cov/ft of the final line.
        final=$(grep -E '^#[0-9]+.*(DONE|pulse)' "$log" | tail -1)
        units=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
        cov=$(sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\).*/\1 | \2/p' <<<"$final")
        row="| \`$target\` | ${units:-?} | $(( $(date +%s) - started )) | ${cov:-? | ?} | 0 |"
        echo "$row" | tee -a "$scratch/logs/summary.md"
    else
        status=1
        echo "!! $target failed: findings in $findings, log $log" >&2
        grep -E 'ERROR|SUMMARY|Fatal error|deadly signal|timeout|out-of-memory' "$log" | head -10 >&2 || true
    fi
done
exit $status
