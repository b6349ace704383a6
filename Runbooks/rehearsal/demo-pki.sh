# Rehearsal only — sourced by runbooks executed in CI (never in production).
#
# A complete local PKI from `appliance demo`: a SoftHSM root, an intermediate, an appliance
# serving on loopback, agents web-01 (revoked) and db-01 (renewed). Sets DEMO (its directory),
# STATE (the appliance state directory), MEDIA (ceremony media), SOFTHSM2_CONF, CEREMONY_ENV,
# HTTPS_URL and HTTP_URL. The demo keeps serving until the test ends it.
DEMO="$WORK/demo"
chmod 755 "$WORK"
appliance demo --dir "$DEMO" </dev/null >"$WORK/demo.log" 2>&1 &
DEMO_PID=$!
for _ in $(seq 1 300); do
  grep -q "press Ctrl-C to stop" "$WORK/demo.log" && break
  kill -0 "$DEMO_PID" 2>/dev/null || break
  sleep 1
done
grep -q "press Ctrl-C to stop" "$WORK/demo.log" || { cat "$WORK/demo.log"; echo "the demo did not start" >&2; exit 1; }
STATE="$DEMO/state"
MEDIA="$DEMO/media"
CEREMONY_ENV="$DEMO/plans/env.yaml"
export SOFTHSM2_CONF="$DEMO/softhsm/softhsm2.conf"
# The demo's appliance lets the OS choose its ports; `serve` reports them in its log.
HTTPS_URL=$(sed -n 's/^listening: \(https:[^ ]*\) .*/\1/p' "$DEMO/serve.log" | tail -1)
HTTP_URL=$(sed -n 's/^listening: https:[^ ]* \(http:.*\)$/\1/p' "$DEMO/serve.log" | tail -1)
[ -n "$HTTPS_URL" ] && [ -n "$HTTP_URL" ] || { cat "$DEMO/serve.log"; echo "serve did not report its ports" >&2; exit 1; }
echo "rehearsal PKI serving at $HTTPS_URL and $HTTP_URL (state: $STATE)"
