import Foundation
import PKICore

/// One key ceremony, as witnesses review it (docs/ceremony.md#plan). The plan's SHA-256 is shown at the start
/// and recorded in the transcript; the environment (module, token, PIN source) is not part of it.
///
/// The kind of ceremony and its section are one value (``Details``): a root plan carries exactly
/// a ``RootCeremonyPlan`` and nothing else, so no code unwraps an optional section it "knows" is
/// there. A section of another kind in the YAML is refused while decoding.
/// A PIN never appears in a plan: any key that looks like one is refused before decoding.
public struct CeremonyPlan: Codable, Sendable, Equatable {
    /// Which ceremony a plan runs (the `ceremony:` key).
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case root, intermediate, crl
    }

    /// The ceremony and exactly the fields it needs.
    public enum Details: Sendable, Equatable {
        case root(RootCeremonyPlan)
        case intermediate(IntermediateCeremonyPlan)
        case crl(CRLCeremonyPlan)
    }

    /// What this plan does.
    public var details: Details
    /// Whether this is a rehearsal. It is part of the reviewed, hashed plan (absent means `false`,
    /// a production ceremony) and is recorded in the transcript; the environment cannot change it.
    ///
    /// A rehearsal relaxes the air-gap refusal, lets an intermediate plan omit
    /// `expected-spki-sha256`, and accepts `--yes-i-have-checked`; it is refused on a token whose
    /// root is marked as a production root (see ``RootKindMarker``).
    public var rehearsal: Bool?
    /// Free text shown to witnesses at the start.
    public var purpose: String?

    public init(_ details: Details, rehearsal: Bool? = nil, purpose: String? = nil) {
        self.details = details
        self.rehearsal = rehearsal
        self.purpose = purpose
    }

    public var isRehearsal: Bool { rehearsal ?? false }

    /// The kind of ``details``.
    public var ceremony: Kind {
        switch details {
        case .root: .root
        case .intermediate: .intermediate
        case .crl: .crl
        }
    }

    /// The root section, when this is a root plan.
    public var root: RootCeremonyPlan? { if case .root(let plan) = details { plan } else { nil } }
    /// The intermediate section, when this is an intermediate plan.
    public var intermediate: IntermediateCeremonyPlan? { if case .intermediate(let plan) = details { plan } else { nil } }
    /// The CRL section, when this is a CRL plan.
    public var crl: CRLCeremonyPlan? { if case .crl(let plan) = details { plan } else { nil } }

    enum CodingKeys: String, CodingKey {
        case ceremony, rehearsal, purpose, root, intermediate, crl

        init(_ kind: Kind) {
            switch kind {
            case .root: self = .root
            case .intermediate: self = .intermediate
            case .crl: self = .crl
            }
        }
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let kind = try container.decode(Kind.self, forKey: .ceremony)
        rehearsal = try container.decodeIfPresent(Bool.self, forKey: .rehearsal)
        purpose = try container.decodeIfPresent(String.self, forKey: .purpose)
        for other in Kind.allCases where other != kind && container.contains(CodingKeys(other)) {
            throw DecodingError.dataCorruptedError(
                forKey: CodingKeys(other), in: container,
                debugDescription: "section '\(other.rawValue)' does not belong in a '\(kind.rawValue)' ceremony")
        }
        switch kind {
        case .root: details = .root(try container.decode(RootCeremonyPlan.self, forKey: .root))
        case .intermediate: details = .intermediate(try container.decode(IntermediateCeremonyPlan.self, forKey: .intermediate))
        case .crl: details = .crl(try container.decode(CRLCeremonyPlan.self, forKey: .crl))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(ceremony, forKey: .ceremony)
        try container.encodeIfPresent(rehearsal, forKey: .rehearsal)
        try container.encodeIfPresent(purpose, forKey: .purpose)
        switch details {
        case .root(let plan): try container.encode(plan, forKey: .root)
        case .intermediate(let plan): try container.encode(plan, forKey: .intermediate)
        case .crl(let plan): try container.encode(plan, forKey: .crl)
        }
    }
}

/// The key pair and certificate of a new root CA.
public struct RootCeremonyPlan: Codable, Sendable, Equatable {
    public var key: TokenKeyPlan
    public var subject: SubjectPlan
    /// Root validity in calendar years (docs/profiles.md#root-ca: default 20; 5–30 allowed).
    public var validityYears: Int?
    /// Or the explicit end of the root's life: `2046-12-06` (00:00:00 UTC) or an ISO 8601 instant.
    public var notAfter: String?

    enum CodingKeys: String, CodingKey {
        case key, subject
        case validityYears = "validity-years"
        case notAfter = "not-after"
    }

    /// The validity the plan asks for (calendar years unless `not-after` is given); nil when
    /// `not-after` is not a date.
    public var validity: RootValidity? {
        guard let notAfter else { return .years(validityYears ?? 20) }
        return Self.parseDate(notAfter).map(RootValidity.until)
    }

    /// A plan date: `YYYY-MM-DD` (midnight UTC) or a full ISO 8601 instant.
    static func parseDate(_ text: String) -> Date? {
        let full = ISO8601DateFormatter()
        if let date = full.date(from: text) { return date }
        let day = ISO8601DateFormatter()
        day.formatOptions = [.withFullDate]
        return text.count == 10 ? day.date(from: text) : nil
    }
}

/// A key to generate in the token.
public struct TokenKeyPlan: Codable, Sendable, Equatable {
    /// `rsa4096` (default) or `p384`.
    public var algorithm: String?
    /// CKA_LABEL of the new key pair; refused if the token already holds it.
    public var label: String
    /// CKA_ID in hex; refused if the token already holds it.
    public var id: String
}

/// The distinguished name parts of docs/profiles.md#subject-names: `CN=<name> Root CA, O=<org>, OU=<unit>, C=<c>`.
public struct SubjectPlan: Codable, Sendable, Equatable {
    public var name: String
    public var organization: String
    public var unit: String?
    public var country: String?
}

/// Identifies the root key in the token: by label, and pinned by its public key so that a token
/// holding another key is refused.
public struct RootKeyReference: Codable, Sendable, Equatable {
    public var label: String
    /// Which root: its SPKI SHA-256 or certificate SHA-256 in hex, or its agent pin
    /// `sha256/BASE64`, as the root ceremony printed them (docs/identity.md). The key name stays
    /// `spki-sha256` for the plans already written.
    public var spkiSHA256: String

    /// ``spkiSHA256`` parsed; `source` names the plan key for messages.
    public func identity(source: String) throws -> TrustAnchorIdentity {
        try TrustAnchorIdentity(parsing: spkiSHA256, source: source)
    }

    enum CodingKeys: String, CodingKey {
        case label
        case spkiSHA256 = "spki-sha256"
    }

    public init(label: String, spkiSHA256: String) {
        self.label = label
        self.spkiSHA256 = spkiSHA256
    }
}

/// Signing an intermediate CA CSR that arrived on the media.
public struct IntermediateCeremonyPlan: Codable, Sendable, Equatable {
    public var rootKey: RootKeyReference
    /// Bundle directory under the media, default `intermediate-csr`.
    public var csrBundle: String?
    /// Output bundle directory under the media, default `intermediate-cert`.
    public var outputBundle: String?
    /// Validity in years (default 5, at most 5, never beyond the root's notAfter).
    public var validityYears: Int?
    /// The root CRL URL written into the CRL distribution points extension.
    public var crlURL: String?
    /// SHA-256 of the CSR's public key (64 hex digits) from the appliance operator's printout;
    /// the CSR must carry exactly this key. Required outside rehearsals.
    public var expectedSPKISHA256: String?

    enum CodingKeys: String, CodingKey {
        case rootKey = "root-key"
        case csrBundle = "csr-bundle"
        case outputBundle = "output-bundle"
        case validityYears = "validity-years"
        case crlURL = "crl-url"
        case expectedSPKISHA256 = "expected-spki-sha256"
    }
}

/// Issuing the root CRL, optionally revoking intermediates first.
public struct CRLCeremonyPlan: Codable, Sendable, Equatable {
    public var rootKey: RootKeyReference
    /// Days until nextUpdate (default 180, at most 365: docs/ceremony.md#crl-ceremony "nextUpdate ≤ 12 months").
    public var nextUpdateDays: Int?
    /// Intermediates to revoke before the CRL is issued.
    public var revoke: [RevocationPlan]?

    enum CodingKeys: String, CodingKey {
        case rootKey = "root-key"
        case nextUpdateDays = "next-update-days"
        case revoke
    }
}

/// One revocation in a CRL ceremony.
public struct RevocationPlan: Codable, Sendable, Equatable {
    /// Serial number in hex, as `ceremony inspect` prints it.
    public var serial: String
    /// RFC 5280 §5.3.1 reason name, e.g. `keyCompromise`, `cACompromise`, `superseded`.
    public var reason: String
    /// ISO 8601 date from which the key is known or suspected to be compromised (RFC 5280 §5.3.2).
    public var invalidityDate: String?

    enum CodingKeys: String, CodingKey {
        case serial, reason
        case invalidityDate = "invalidity-date"
    }
}
