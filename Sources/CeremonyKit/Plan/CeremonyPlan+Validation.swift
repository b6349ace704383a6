import Foundation
import PKICore

extension CeremonyPlan {
    /// Keys that look like secrets. A plan is a reviewed, hashed, archived document: a PIN in it
    /// would be disclosed to every witness and every later reader (docs/ceremony.md#plan).
    static let secretKeyFragments = ["pin", "passphrase", "password", "secret"]

    /// Loads a plan from its text: refuses secrets, then decodes strictly, then validates values.
    public static func load(text: String, document: String = "plan") throws -> CeremonyPlan {
        if let key = secretLookingKey(in: text) {
            throw CeremonyError.plan(
                "\(document): key '\(key)' looks like a PIN or passphrase; secrets are never read from a plan "
                    + "(use the environment's pin-source: prompt, fd:N or a 0600 file)")
        }
        let plan = try StrictYAML.decode(CeremonyPlan.self, from: text, document: document)
        try plan.validate(document: document)
        return plan
    }

    static func secretLookingKey(in text: String) -> String? {
        for line in text.split(separator: "\n") {
            let content = line.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).first ?? ""
            guard let colon = content.firstIndex(of: ":") else { continue }
            let key = content[..<colon].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "-\"' "))
            let lower = key.lowercased()
            if secretKeyFragments.contains(where: {
                lower == $0 || lower.hasPrefix($0 + "-") || lower.hasSuffix("-" + $0) || lower.hasSuffix("_" + $0)
            }) {
                return key
            }
        }
        return nil
    }

    /// Checks values; every error names the key path. (One section per kind is the decoder's.)
    public func validate(document: String = "plan") throws {
        func fail(_ message: String) -> CeremonyError { .plan("\(document): \(message)") }
        switch details {
        case .root(let root):
            let algorithm = root.key.algorithm ?? "rsa4096"
            guard ["rsa4096", "p384"].contains(algorithm) else {
                throw fail("root.key.algorithm must be rsa4096 or p384, not '\(algorithm)'")
            }
            guard !root.key.label.isEmpty else { throw fail("root.key.label must not be empty") }
            guard Hex.decode(root.key.id, typed: true) != nil, !root.key.id.isEmpty else {
                throw fail("root.key.id must be hex, e.g. '01'")
            }
            guard !root.subject.name.isEmpty, !root.subject.organization.isEmpty else {
                throw fail("root.subject.name and root.subject.organization must not be empty")
            }
            if let country = root.subject.country {
                do { _ = try CountryCode(country) } catch let error as PKIError { throw fail("root.subject.country: \(error.reason)") }
            }
            if root.notAfter != nil, root.validityYears != nil {
                throw fail("root.validity-years and root.not-after both give the root's lifetime: keep one")
            }
            if let years = root.validityYears, !RootValidity.allowedYears.contains(years) {
                throw fail(
                    "root.validity-years must be between \(RootValidity.allowedYears.lowerBound) and \(RootValidity.allowedYears.upperBound) "
                        + "(docs/profiles.md#root-ca), not \(years)")
            }
            if let notAfter = root.notAfter, root.validity == nil {
                throw fail("root.not-after must be a date such as 2046-12-06 (UTC) or an ISO 8601 instant, not '\(notAfter)'")
            }
        case .intermediate(let plan):
            try Self.validate(plan.rootKey, path: "intermediate.root-key", fail: fail)
            if let years = plan.validityYears, !(1...5).contains(years) {
                throw fail("intermediate.validity-years must be between 1 and 5 (docs/profiles.md#intermediate-ca)")
            }
            if let pin = plan.expectedSPKISHA256 {
                guard Hex.decode(pin, typed: true)?.count == 32 else {
                    throw fail("intermediate.expected-spki-sha256 must be 64 hex digits (the SPKI SHA-256 on the appliance operator's printout)")
                }
            } else if !isRehearsal {
                // The whole hash, from paper, outside the media: the only check a swapped CSR
                // bundle cannot also forge (issue 11).
                throw fail(
                    "intermediate.expected-spki-sha256 is required outside a rehearsal: copy the SPKI SHA-256 from the appliance operator's printout")
            }
            if let url = plan.crlURL, URL(string: url)?.scheme?.hasPrefix("http") != true {
                throw fail("intermediate.crl-url must be an http(s) URL")
            }
            for (key, name) in [("csr-bundle", plan.csrBundle), ("output-bundle", plan.outputBundle)] {
                if let name, name.isEmpty || name.contains("/") || name.hasPrefix(".") {
                    throw fail("intermediate.\(key) must be a plain directory name under the media")
                }
            }
        case .crl(let plan):
            try Self.validate(plan.rootKey, path: "crl.root-key", fail: fail)
            if let days = plan.nextUpdateDays, !(1...365).contains(days) {
                throw fail("crl.next-update-days must be between 1 and 365")
            }
            for (index, entry) in (plan.revoke ?? []).enumerated() {
                guard let bytes = Hex.decode(entry.serial, typed: true), !bytes.isEmpty, bytes.count <= 20 else {
                    throw fail("crl.revoke[\(index)].serial must be a hex serial of at most 20 octets")
                }
                guard RevocationReason(name: entry.reason) != nil else {
                    throw fail(
                        "crl.revoke[\(index)].reason '\(entry.reason)' is not an RFC 5280 reason name (keyCompromise, cACompromise, "
                            + "affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise)")
                }
                if let date = entry.invalidityDate, ISO8601DateFormatter().date(from: date) == nil {
                    throw fail("crl.revoke[\(index)].invalidity-date must be ISO 8601, e.g. 2026-01-31T00:00:00Z")
                }
            }
        }
    }

    private static func validate(_ reference: RootKeyReference, path: String, fail: (String) -> CeremonyError) throws {
        guard !reference.label.isEmpty else { throw fail("\(path).label must not be empty") }
        do {
            _ = try reference.identity(source: path)
        } catch let error as PKIError {
            throw fail(error.reason)
        }
    }
}
