#!/usr/bin/env bash
# Runs every Rootkeeper test on this machine: installs what is missing, builds, and runs the unit
# and integration suites (SoftHSM2 tokens, pcscd + vsmartcard, SQLite files, a throwaway
# PostgreSQL cluster, real TLS sockets on loopback, openssl/curl/pkcs11-tool as verifiers).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh

# Services the integration tests need and start per test where they can (SoftHSM tokens, pcscd,
# vsmartcard, appliances); PostgreSQL runs as one throwaway cluster for the whole run.
source scripts/lib/postgres.sh
start_test_postgres
trap stop_test_postgres EXIT

swift build --build-tests
swift test --skip-build "$@"
