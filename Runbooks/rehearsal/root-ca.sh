# Rehearsal only — sourced by runbooks executed in CI (never on a live ceremony machine).
#
# A throwaway SoftHSM token holding a root CA made by a real rehearsal ceremony, with its first
# root CRL, exactly as root-ceremony.md does step by step. Sets SOFTHSM2_CONF, MEDIA (the
# ceremony media), CEREMONY_ENV (the ceremony environment file) and ROOT_FPR (the root
# certificate's SHA-256, which operators pin). The PIN is in a 0600 file, never in argv.
export SOFTHSM2_CONF="$WORK/softhsm2.conf"
mkdir -p "$WORK/tokens" "$WORK/media" "$WORK/plans"
echo "directories.tokendir = $WORK/tokens" > "$SOFTHSM2_CONF"
softhsm2-util --init-token --free --label root-ca --pin 1234 --so-pin 5678 >/dev/null
(umask 077 && printf '1234\n' > "$WORK/plans/pin")
MEDIA="$WORK/media"
CEREMONY_ENV="$WORK/plans/env.yaml"
cat > "$CEREMONY_ENV" <<ENV
module: /usr/lib/softhsm/libsofthsm2.so
token: root-ca
pin-source: file:$WORK/plans/pin
operator: A. Officer
ENV
ceremony template root --rehearsal > "$WORK/plans/root.yaml"
printf 'yes\n' | ceremony run "$WORK/plans/root.yaml" --media "$MEDIA" --env "$CEREMONY_ENV" > "$WORK/plans/root.log"
ceremony template crl --rehearsal --media "$MEDIA" > "$WORK/plans/crl.yaml"
# The officer types the transcript head the witnesses wrote down at the close of the root ceremony.
PAPER_LOG=$(sed -n '/^Transcript head/{n;n;p;}' "$WORK/plans/root.log")
printf 'yes\n%s\n' "$PAPER_LOG" | ceremony run "$WORK/plans/crl.yaml" --media "$MEDIA" --env "$CEREMONY_ENV" > "$WORK/plans/crl.log"
ROOT_FPR=$(openssl x509 -in "$MEDIA/root/root-ca.crt" -outform DER | sha256sum | cut -c1-64)
echo "rehearsal root CA ready: $MEDIA/root/root-ca.crt (SHA-256 $ROOT_FPR)"
