#!/usr/bin/env bash
# The full local demo on embedded defaults: a root ceremony on a SoftHSM token, the appliance's
# intermediate signed by it, the appliance serving on loopback, and agents enrolled (one approved
# by the administrator, one with a one-time token), one renewal and one revocation.
# Everything is left under ./demo (or $DEMO_DIR) for inspection; the appliance keeps serving
# until Ctrl-C.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x /opt/swift/usr/bin/swift ] && export PATH="/opt/swift/usr/bin:$PATH"

scripts/install-deps.sh
swift build --product ceremony
swift build --product agent
swift build --product appliance

demo_dir="${DEMO_DIR:-$PWD/demo}"
if [ -e "$demo_dir" ]; then
  echo "demo: $demo_dir exists; remove it or set DEMO_DIR to a new directory" >&2
  exit 1
fi
exec "$(swift build --show-bin-path)/appliance" demo --dir "$demo_dir" "$@"
