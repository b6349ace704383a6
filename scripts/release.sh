#!/usr/bin/env bash
# Builds the release artefacts a ceremony machine or an appliance host can run as they are:
# `ceremony`, `appliance` and `agent`, with the Swift runtime and Foundation linked statically
# (a live image has no /opt/swift), stripped, built so that the same commit gives the same bytes
# (build paths mapped away, build date = commit date), plus SHA256SUMS and the list of shared
# libraries the target system must still provide (SHARED-LIBRARIES).
#
#   scripts/release.sh [--out DIR]        (default: dist/)
#
# Environment: ROOTKEEPER_RELEASE_VERSION overrides the version (default: `git describe`).
# Incremental: the build lives in .build-release/ and only what changed is rebuilt; a new commit
# recompiles one C file (Sources/CBuildInfo) and relinks.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

OUT=dist
while [ $# -gt 0 ]; do
    case "$1" in
        --out) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,13p' "$0"; exit 0 ;;
        *) echo "release.sh: unknown argument $1 (see --help)" >&2; exit 2 ;;
    esac
done

ROOT="$PWD"
SCRATCH="$ROOT/.build-release"
PRODUCTS=(ceremony appliance agent)
# Shared libraries a release binary may still need: the C library family (every Linux system has
# it) and the libraries the ceremony machine image and the appliance host must carry
# (Runbooks/ceremony-machine.md, Runbooks/appliance-install.md). Anything else fails the build,
# so the runbooks cannot fall out of date.
ALLOWED_LIBRARIES='^(linux-vdso\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1|libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libutil\.so\.1|libgcc_s\.so\.1|libstdc\+\+\.so\.6|libpcsclite\.so\.1|libsqlite3\.so\.0|libp11-kit\.so\.0)$'

# Build facts, from git only (nothing at run time). The build date is the commit date
# (SOURCE_DATE_EPOCH, reproducible-builds.org), so rebuilding a commit gives the same bytes.
COMMIT=$(git rev-parse HEAD)
if [ -n "$(git status --porcelain --untracked-files=no)" ]; then COMMIT="$COMMIT+dirty"; fi
VERSION="${ROOTKEEPER_RELEASE_VERSION:-$(git describe --tags --always --dirty)}"
SOURCE_DATE_EPOCH=$(git log -1 --format=%ct HEAD)
BUILD_DATE=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
export SOURCE_DATE_EPOCH
for value in "$VERSION" "$COMMIT" "$BUILD_DATE"; do
    # They become C string literals (Package.swift): nothing that could escape one.
    [[ "$value" =~ ^[A-Za-z0-9._:+-]+$ ]] || { echo "release.sh: refusing build fact '$value' (only A-Z a-z 0-9 . _ : + -)" >&2; exit 1; }
done
export ROOTKEEPER_VERSION="$VERSION" ROOTKEEPER_COMMIT="$COMMIT" ROOTKEEPER_BUILD_DATE="$BUILD_DATE"

# Map the checkout's path (sources and .build-release/checkouts) to a fixed name, so the binaries
# do not depend on where they were built.
FLAGS=(
    -c release --static-swift-stdlib --scratch-path "$SCRATCH"
    -Xswiftc -file-prefix-map -Xswiftc "$ROOT=/rootkeeper"
    -Xswiftc -debug-prefix-map -Xswiftc "$ROOT=/rootkeeper"
    -Xcc "-ffile-prefix-map=$ROOT=/rootkeeper"
)
echo "release.sh: building $VERSION ($COMMIT, $BUILD_DATE) into $SCRATCH"
for product in "${PRODUCTS[@]}"; do
    swift build "${FLAGS[@]}" --product "$product"
done
BIN=$(swift build "${FLAGS[@]}" --show-bin-path)

mkdir -p "$OUT"
rm -f "$OUT/SHA256SUMS" "$OUT/SHARED-LIBRARIES" "${PRODUCTS[@]/#/$OUT/}"
for product in "${PRODUCTS[@]}"; do
    strip --strip-all -o "$OUT/$product" "$BIN/$product"
    chmod 0755 "$OUT/$product"
done

# No link to the toolchain, and nothing outside the allowed list.
failed=0
for product in "${PRODUCTS[@]}"; do
    if ldd "$OUT/$product" | grep -E '/opt/swift|not found|libswift|libFoundation|libdispatch|libBlocksRuntime|lib_Foundation' >&2; then
        echo "release.sh: $product still links the Swift toolchain (above)" >&2
        failed=1
    fi
    for library in $(readelf -d "$OUT/$product" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p'); do
        if ! [[ "$library" =~ $ALLOWED_LIBRARIES ]]; then
            echo "release.sh: $product needs $library, which is not in the documented list" >&2
            failed=1
        fi
        echo "$product $library"
    done
done > "$OUT/SHARED-LIBRARIES.tmp"
[ "$failed" = 0 ] || { cat "$OUT/SHARED-LIBRARIES.tmp" >&2; rm -f "$OUT/SHARED-LIBRARIES.tmp"; exit 1; }
mv "$OUT/SHARED-LIBRARIES.tmp" "$OUT/SHARED-LIBRARIES"

(cd "$OUT" && sha256sum "${PRODUCTS[@]}" > SHA256SUMS)
echo "release.sh: $OUT/ holds ${PRODUCTS[*]}, SHA256SUMS and SHARED-LIBRARIES:"
cat "$OUT/SHA256SUMS"
"$OUT/ceremony" --version
