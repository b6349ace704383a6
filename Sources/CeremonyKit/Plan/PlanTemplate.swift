/// The commented plans `ceremony template` prints. Each runs as is in a rehearsal; for a live
/// ceremony the officers edit names and set `rehearsal: false`, and witnesses review the result.
public enum PlanTemplate {
    /// The template for `kind`. For intermediate and CRL plans, `rootKey` (label and SPKI SHA-256 of
    /// the root, read from the media's root database when available) fills in the pinned root key.
    public static func text(for kind: CeremonyPlan.Kind, rootKey: RootKeyReference? = nil) -> String {
        let label = rootKey?.label ?? "root-ca-2026"
        let spki = rootKey?.spkiSHA256 ?? String(repeating: "0", count: 64)
        let spkiComment = rootKey == nil
            ? "# REPLACE: the root's SPKI SHA-256 printed at the end of the root ceremony\n    "
            : "# read from the media's root database; compare with the value written down at the root ceremony\n    "
        switch kind {
        case .root:
            return """
                # Rootkeeper root ceremony plan. Witnesses review this file; its SHA-256 is shown at the
                # start and recorded in the transcript. PINs never go here (see the environment's pin-source).
                ceremony: root
                # true relaxes only the air-gap refusal; set to false for the live ceremony.
                rehearsal: true
                purpose: "Create the Example root CA"
                root:
                  key:
                    # rsa4096 (default) or p384; generated inside the token, never extractable.
                    algorithm: rsa4096
                    # CKA_LABEL and CKA_ID (hex) of the new key pair; refused if the token already has them.
                    label: \(label)
                    id: "01"
                  subject:
                    # Certificate subject: CN=<name> Root CA, O=<organization>, OU=<unit>, C=<country>
                    name: Example
                    organization: Example Corp
                    unit: Infrastructure
                    country: GB
                  # 1-30 years; DESIGN default 20.
                  validity-years: 20

                """
        case .intermediate:
            return """
                # Rootkeeper intermediate ceremony plan: sign the intermediate CA CSR bundle on the media.
                ceremony: intermediate
                rehearsal: true
                purpose: "Sign the appliance's intermediate CA"
                intermediate:
                  root-key:
                    label: \(label)
                    \(spkiComment)spki-sha256: "\(spki)"
                  # Bundle written by `appliance init` / `appliance intermediate csr` (directory under the media).
                  csr-bundle: intermediate-csr
                  # Where the certificate and chain are written (never overwritten).
                  output-bundle: intermediate-cert
                  # 1-5 years, never beyond the root's expiry; DESIGN default 5.
                  validity-years: 5
                  # Optional: CRL distribution point for the root CRL.
                  # crl-url: "http://pki.example.com/crl/root.crl"
                  # Optional: SPKI SHA-256 of the CSR's key, received from the appliance operator by phone.
                  # expected-spki-sha256: "…"

                """
        case .crl:
            return """
                # Rootkeeper CRL ceremony plan: record revocations and issue the root CRL.
                ceremony: crl
                rehearsal: true
                purpose: "Scheduled root CRL"
                crl:
                  root-key:
                    label: \(label)
                    \(spkiComment)spki-sha256: "\(spki)"
                  # nextUpdate in days (1-365).
                  next-update-days: 180
                  # Intermediates to revoke first (serial in hex as `ceremony inspect` prints it).
                  revoke: []
                  # revoke:
                  #   - serial: "3a:1f:…"
                  #     reason: keyCompromise      # RFC 5280 §5.3.1 name
                  #     invalidity-date: "2026-01-31T00:00:00Z"

                """
        }
    }
}
