import PKICore

/// The commented plans `ceremony template` prints: production plans (`rehearsal: false`) unless
/// a rehearsal is asked for explicitly, so a plan meant for the live ceremony is never a
/// rehearsal by accident. Officers edit names, witnesses review the result.
public enum PlanTemplate {
    /// Checks a CSR key hash given for a template: 64 hex digits, intermediate plans only.
    /// Returns it in lowercase hex.
    public static func expectedSPKI(_ text: String, for kind: CeremonyPlan.Kind) throws -> String {
        guard kind == .intermediate else { throw CeremonyError.plan("--expected-spki-sha256 belongs to intermediate plans only") }
        guard let bytes = Hex.decode(text, typed: true), bytes.count == 32 else {
            throw CeremonyError.plan("--expected-spki-sha256 must be the 64 hex digits of the SPKI SHA-256 on the appliance operator's printout")
        }
        return Hex.encode(bytes)
    }

    /// The template for `kind`. For intermediate and CRL plans, `rootKey` (label and SPKI SHA-256 of
    /// the root, read from the media's root database when available) fills in the pinned root key;
    /// for intermediate plans `expectedSPKI` (from the appliance operator's printout) fills in
    /// `expected-spki-sha256`.
    public static func text(
        for kind: CeremonyPlan.Kind, rootKey: RootKeyReference? = nil, rehearsal: Bool = false, expectedSPKI: String? = nil
    ) -> String {
        let label = rootKey?.label ?? "root-ca-2026"
        let spki = rootKey?.spkiSHA256 ?? String(repeating: "0", count: 64)
        let spkiComment =
            rootKey == nil
            ? "# REPLACE: the root's SPKI SHA-256 from the paper log of the root ceremony (its certificate SHA-256 or agent pin also do)\n    "
            : "# read from the media's root database; compare with the value written down at the root ceremony\n    "
        let rehearsalLine =
            rehearsal
            ? "# A REHEARSAL: relaxes the air-gap refusal and is refused on a token holding a production root.\nrehearsal: true"
            : "# A production ceremony (`ceremony template --rehearsal` makes a rehearsal plan).\nrehearsal: false"
        let expected: String
        if let expectedSPKI {
            expected = "# From the appliance operator's printout (SPKI SHA-256 of the CSR's key).\n  expected-spki-sha256: \"\(expectedSPKI)\""
        } else if rehearsal {
            expected = "# Optional in a rehearsal: the SPKI SHA-256 from the appliance operator's printout.\n  # expected-spki-sha256: \"…\""
        } else {
            expected = "# REPLACE: the SPKI SHA-256 on the appliance operator's printout (required).\n  expected-spki-sha256: \"REPLACE\""
        }
        switch kind {
        case .root:
            return """
                # Rootkeeper root ceremony plan. Witnesses review this file; its SHA-256 is shown at the
                # start and recorded in the transcript. PINs never go here (see the environment's pin-source).
                ceremony: root
                \(rehearsalLine)
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
                    # country: an ISO 3166-1 alpha-2 code (GB for the United Kingdom, not UK).
                    name: Example
                    organization: Example Corp
                    unit: Infrastructure
                    country: GB
                  # 5-30 calendar years from the signing day (20 years from 2026-12-06 ends 2046-12-06); default 20.
                  validity-years: 20
                  # Or an explicit end date instead (UTC), which witnesses can read as it will be printed:
                  # not-after: "2046-12-06"

                """
        case .intermediate:
            return """
                # Rootkeeper intermediate ceremony plan: sign the intermediate CA CSR bundle on the media.
                ceremony: intermediate
                \(rehearsalLine)
                purpose: "Sign the appliance's intermediate CA"
                intermediate:
                  root-key:
                    label: \(label)
                    \(spkiComment)spki-sha256: "\(spki)"
                  # Bundle written by `appliance init` / `appliance intermediate csr` (directory under the media).
                  csr-bundle: intermediate-csr
                  # Where the certificate and chain are written (never overwritten).
                  output-bundle: intermediate-cert
                  # 1-5 years, never beyond the root's expiry; default 5.
                  validity-years: 5
                  # Optional: CRL distribution point for the root CRL.
                  # crl-url: "http://pki.example.com/crl/root.crl"
                  \(expected)

                """
        case .crl:
            return """
                # Rootkeeper CRL ceremony plan: record revocations and issue the root CRL.
                ceremony: crl
                \(rehearsalLine)
                purpose: "Scheduled root CRL"
                crl:
                  root-key:
                    label: \(label)
                    \(spkiComment)spki-sha256: "\(spki)"
                  # nextUpdate in days (1-365).
                  next-update-days: 180
                  # Intermediates to revoke first (serial in hex as `ceremony inspect` prints it; colons are ignored).
                  revoke: []
                  # revoke:
                  #   - serial: "3a1f…"
                  #     reason: keyCompromise      # RFC 5280 §5.3.1 name
                  #     invalidity-date: "2026-01-31T00:00:00Z"

                """
        }
    }
}
