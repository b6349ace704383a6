#!/usr/bin/env bash
# Installs the Debian packages Rootkeeper builds, tests and demos with. Idempotent: only packages
# that are missing are installed, so a second run does nothing (and needs no network).
set -euo pipefail

packages=(
  # build: PKCS#11 header (p11-kit), PC/SC, OpenSSL, SQLite
  libssl-dev libp11-dev libp11-kit-dev libpcsclite-dev libsqlite3-dev pkg-config
  # HSM and smart cards: SoftHSM2 as the test HSM, OpenSC's pkcs11-tool, pcscd + vsmartcard
  softhsm2 opensc pcscd vsmartcard-vpcd python3-virtualsmartcard python3-pycryptodome
  # independent verifiers and peers: openssl, curl, nginx, wrk, PostgreSQL, promtool
  openssl curl ca-certificates sqlite3 postgresql nginx-light wrk prometheus procps iproute2
  # tests: a C compiler for the removable-token PKCS#11 module built at test time; python3 for
  # runbook rehearsals (free ports); util-linux for setpriv/unshare
  gcc libc6-dev python3 util-linux
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  "${sudo_cmd[@]}" apt-get update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "install-deps: add /opt/swift/usr/bin to PATH" >&2
  else
    echo "install-deps: Swift 6 toolchain not found (https://www.swift.org/install/linux/)" >&2
  fi
  exit 1
fi
