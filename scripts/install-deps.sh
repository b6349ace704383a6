#!/usr/bin/env bash
# Installs the Debian packages (and the one PyPI tool) Rootkeeper builds, tests and demos with, then
# checks that every external program the tests, runbooks and demo spawn is present, naming the
# package of any that is not. Idempotent: only what is missing is installed, so a second run does
# nothing (and needs no network).
#
# The table below is the one list of outside programs. A test that spawns a program not listed here
# works on a machine where someone installed it by hand and fails on a fresh one; add it here.
set -euo pipefail
cd "$(dirname "$0")/.."

# program            Debian package that ships it
tools=(
  "openssl            openssl"
  "curl               curl"
  "sqlite3            sqlite3"
  "psql               postgresql-client-common"
  "pg_dump            postgresql-client-common"
  "softhsm2-util      softhsm2"
  "pkcs11-tool        opensc"
  "pcscd              pcscd"
  "vicc               vsmartcard-vpicc"
  "promtool           prometheus"
  "systemd-analyze    systemd"
  "nginx              nginx-light"
  "wrk                wrk"
  "cfssl              golang-cfssl"
  "valgrind           valgrind"
  "perf               linux-perf"
  "/usr/bin/time      time"
  "ip                 iproute2"
  "ps                 procps"
  "setpriv            util-linux"
  "unshare            util-linux"
  "runuser            util-linux"
  "setsid             util-linux"
  "setfacl            acl"
  "git                git"
  "strip              binutils"
  "sha256sum          coreutils"
  "cc                 gcc"
  "python3            python3"
  "bash               bash"
  "chromium           chromium"
  "chromedriver       chromium-driver"
  "pk12util           libnss3-tools"
  "certutil           libnss3-tools"
)

packages=(
  # build: PKCS#11 header (p11-kit), PC/SC, OpenSSL, SQLite
  libssl-dev libp11-dev libp11-kit-dev libpcsclite-dev libsqlite3-dev pkg-config
  # HSM and smart cards: SoftHSM2 as the test HSM, OpenSC's pkcs11-tool, pcscd + vsmartcard
  # (vsmartcard-vpcd is the reader driver, vsmartcard-vpicc ships `vicc`, the virtual card itself)
  softhsm2 opensc pcscd vsmartcard-vpcd vsmartcard-vpicc python3-virtualsmartcard python3-pycryptodome
  # independent verifiers and peers: openssl, curl, nginx, wrk, PostgreSQL, promtool, systemd-analyze
  openssl curl ca-certificates sqlite3 postgresql postgresql-client postgresql-client-common nginx-light wrk prometheus procps iproute2 systemd
  # benchmark peer and profiler (scripts/bench/network.sh): cfssl `ocspserve` with pre-signed
  # responses; valgrind's callgrind for instruction counts per request; PROFILE=1's cpu-clock
  # profiles (perf) and load-generator CPU time (/usr/bin/time)
  golang-cfssl valgrind linux-perf time
  # tests: a C compiler for the removable-token PKCS#11 module built at test time; python3 (+venv for
  # pkilint) for runbook rehearsals and independent checks; util-linux for setpriv/unshare/runuser
  gcc libc6-dev python3 python3-venv util-linux coreutils bash
  # tests: setfacl grants a service user read access to a root-owned credential, as systemd does
  acl
  # release: scripts/release.sh reads build facts from git and strips with binutils
  git binutils
  # browser test of the web console: headless Chromium driven by Selenium (chromedriver), axe-core
  # (libnss3-tools: certutil and pk12util put the test root and the administrator's PKCS#12 into its NSS database)
  chromium chromium-driver libnss3-tools
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if ((${#missing[@]})); then
  echo "install-deps: installing ${missing[*]}"
  sudo_cmd=()
  [ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
  # Another package manager at work (unattended-upgrades on a fresh machine, or the other set-up
  # command started at the same time) holds apt's locks: wait for it, up to 10 minutes, instead
  # of failing at once. /proc, not pgrep: a minimal Debian has no procps. DPkg::Lock::Timeout
  # covers the race between this check and apt taking the lock.
  waited=0
  while grep -qxE 'apt-get|apt|dpkg|unattended-upgr' /proc/[0-9]*/comm 2>/dev/null; do
    ((waited)) || echo "install-deps: waiting for another package manager to finish"
    if ((waited >= 600)); then
      echo "install-deps: another package manager has held apt for 10 minutes; run this again when it is done" >&2
      exit 1
    fi
    sleep 5
    waited=$((waited + 5))
  done
  "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 update -qq
  DEBIAN_FRONTEND=noninteractive "${sudo_cmd[@]}" apt-get -o DPkg::Lock::Timeout=600 install -y -qq --no-install-recommends "${missing[@]}"
else
  echo "install-deps: all packages present"
fi

# pkilint (PyPI only, not in Debian) checks issued certificates independently of our own linter.
# It lives in a project-local virtual environment, never in the system Python.
venv=".tools/venv"
pkilint_version="0.13.3"
if ! "$venv/bin/python" -c "import pkilint" 2>/dev/null \
  || [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("pkilint"))' 2>/dev/null)" != "$pkilint_version" ]; then
  echo "install-deps: installing pkilint $pkilint_version into $venv"
  rm -rf "$venv"
  python3 -m venv "$venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "pkilint==$pkilint_version"
fi
# The web console's browser test (Tests/Browser/console_browser_test.py): Selenium drives Debian's
# chromium through chromedriver; axe-selenium-python bundles axe-core for the accessibility check.
selenium_version="4.25.0"
axe_version="2.1.6"
if [ "$("$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("selenium"), m.version("axe-selenium-python"))' 2>/dev/null)" \
  != "$selenium_version $axe_version" ]; then
  echo "install-deps: installing selenium $selenium_version and axe-selenium-python $axe_version into $venv"
  "$venv/bin/pip" install -q --disable-pip-version-check "selenium==$selenium_version" "axe-selenium-python==$axe_version"
fi

absent=()
for row in "${tools[@]}"; do
  read -r program package <<<"$row"
  command -v "$program" >/dev/null 2>&1 || [ -x "/usr/sbin/$program" ] || [ -x "/sbin/$program" ] \
    || absent+=("$program (Debian package $package)")
done
[ -x "$venv/bin/lint_pkix_cert" ] || absent+=("lint_pkix_cert (PyPI package pkilint, in $venv)")
"$venv/bin/python" -c "import selenium, axe_selenium_python" 2>/dev/null || absent+=("selenium, axe-selenium-python (PyPI, in $venv)")
if ((${#absent[@]})); then
  printf 'install-deps: missing after install: %s\n' "${absent[@]}" >&2
  exit 1
fi

if ! command -v swift >/dev/null 2>&1; then
  if [ -x /opt/swift/usr/bin/swift ]; then
    echo "install-deps: add /opt/swift/usr/bin to PATH" >&2
  else
    echo "install-deps: Swift 6 toolchain not found (https://www.swift.org/install/linux/)" >&2
  fi
  exit 1
fi
