#!/usr/bin/env bash
# The full local demo on embedded defaults: a root ceremony on a SoftHSM token, the appliance's
# intermediate signed by it, the appliance serving on loopback, and agents enrolled (one approved
# by the administrator, one with a one-time token), one renewal and one revocation.
# Everything is left in a new temporary directory (or $DEMO_DIR, which must not exist) for
# inspection; the appliance keeps serving until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh
swift build --product ceremony
swift build --product agent
swift build --product appliance

if [ -z "${DEMO_DIR:-}" ]; then
  # World-traversable parent: as root, the demo's appliance drops to `nobody`, which must reach it.
  parent=$(mktemp -d /tmp/rootkeeper-demo.XXXXXX)
  chmod 755 "$parent"
  DEMO_DIR="$parent/demo"
fi
demo_dir="$DEMO_DIR"
if [ -e "$demo_dir" ]; then
  echo "demo: $demo_dir exists; remove it or set DEMO_DIR to a new directory" >&2
  exit 1
fi
exec "$(swift build --show-bin-path)/appliance" demo --dir "$demo_dir" "$@"
