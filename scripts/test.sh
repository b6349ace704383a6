#!/usr/bin/env bash
# Runs every Rootkeeper test on this machine: installs what is missing, builds, and runs the unit
# and integration suites (SoftHSM2 tokens, pcscd + vsmartcard, SQLite files, a throwaway
# PostgreSQL cluster, real TLS sockets on loopback, openssl/curl/pkcs11-tool as verifiers).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh

# Formatting is part of the contract (.swift-format, docs/conventions.md): unformatted code fails
# here, before the long builds; scripts/format.sh fixes it.
scripts/format.sh --check

# The integration tests start the services they need themselves, each in its own temporary
# directory: SoftHSM tokens (SOFTHSM2_CONF), pcscd + vsmartcard, appliances on loopback ports.
# The PostgreSQL store tests start their own throwaway cluster once per test process (initdb +
# pg_ctl, run-time port, as the postgres user when root: Tests/TestSupport/PostgreSQLCluster.swift,
# the Swift form of scripts/lib/postgres.sh); ROOTKEEPER_TEST_POSTGRES_URL=postgres://user@host:port/db
# points them at a running server instead. Missing PostgreSQL binaries fail those tests.

# The PC/SC tests' vpcd reader listens on Debian's fixed ports 35963-35964 (/etc/reader.conf.d/vpcd),
# which lie inside the kernel's ephemeral range: among the thousands of loopback connections of a
# full run, one that took such a port as its source can block vpcd's bind, and then the reader
# never comes up (the likeliest cause of two such failures on 2026-12-06, not proven). Reserve
# them for the run when allowed (root); otherwise say so.
reserved=$(cat /proc/sys/net/ipv4/ip_local_reserved_ports 2>/dev/null || true)
if [[ ",$reserved," != *",35963-35964,"* ]] \
  && ! { echo "${reserved:+$reserved,}35963-35964" >/proc/sys/net/ipv4/ip_local_reserved_ports; } 2>/dev/null; then
  echo "test.sh: could not reserve ports 35963-35964 for vpcd (not root?); the PC/SC test may meet a busy port" >&2
fi

# In-process SoftHSM tests point the module at their own token by rewriting this file, never by
# changing the environment of a running, multi-threaded test process (Tests/TestSupport/SoftHSMToken.swift).
softhsm_dir=$(mktemp -d /tmp/rootkeeper-softhsm.XXXXXX)
trap 'rm -rf "$softhsm_dir"' EXIT
export SOFTHSM2_CONF="$softhsm_dir/rootkeeper-test-softhsm2.conf"
printf 'directories.tokendir = %s\nobjectstore.backend = file\nlog.level = ERROR\n' "$softhsm_dir" >"$SOFTHSM2_CONF"

# The release artefacts (statically linked, what a ceremony machine runs): built or brought up to
# date once here, tested by Tests/RunbookTests/ReleaseArtefactTests.swift through
# ROOTKEEPER_RELEASE_DIR. Incremental: a new commit recompiles one C file and relinks.
scripts/release.sh --out .build-release/dist
export ROOTKEEPER_RELEASE_DIR="$PWD/.build-release/dist"

swift build --build-tests

# Fuzz smoke (scripts/fuzz/README.md): the libFuzzer targets still build (a second, sanitizer
# build in .build-fuzz, debug only, incremental after the first run) and each runs 5 s without a
# finding; the long runs are reported in FUZZING.md.
scripts/fuzz/run.sh --smoke
# swift-testing starts every test at once by default. Many tests run real appliances, openssl,
# curl and whole demos; on the 2-core CI machine dozens of them at once starve the in-process
# servers until curl's timeouts fire. Three at a time keeps the run to ~2 minutes and every
# timeout meaningful (TEST_PARALLELISM overrides it).
swift test --skip-build --experimental-maximum-parallelization-width "${TEST_PARALLELISM:-3}" "$@"
