import Foundation

/// One key ceremony, as witnesses review it (docs/ceremony.md#plan). The plan's SHA-256 is shown at the start
/// and recorded in the transcript; the environment (module, token, PIN source) is not part of it.
///
/// Exactly one of ``root``, ``intermediate`` or ``crl`` is present, matching ``ceremony``.
/// A PIN never appears in a plan: any key that looks like one is refused before decoding.
public struct CeremonyPlan: Codable, Sendable, Equatable {
    /// Which ceremony this plan runs.
    public enum Kind: String, Codable, Sendable, CaseIterable {
        case root, intermediate, crl
    }

    public var ceremony: Kind
    /// Whether this is a rehearsal. It is part of the reviewed, hashed plan (absent means `false`,
    /// a production ceremony) and is recorded in the transcript; the environment cannot change it.
    ///
    /// A rehearsal relaxes the air-gap refusal, lets an intermediate plan omit
    /// `expected-spki-sha256`, and accepts `--yes-i-have-checked`; it is refused on a token whose
    /// root is marked as a production root (see ``RootKindMarker``).
    public var rehearsal: Bool?
    /// Free text shown to witnesses at the start.
    public var purpose: String?
    public var root: RootCeremonyPlan?
    public var intermediate: IntermediateCeremonyPlan?
    public var crl: CRLCeremonyPlan?

    public var isRehearsal: Bool { rehearsal ?? false }
}

/// The key pair and certificate of a new root CA.
public struct RootCeremonyPlan: Codable, Sendable, Equatable {
    public var key: TokenKeyPlan
    public var subject: SubjectPlan
    /// Root validity in years (docs/profiles.md#root-ca default 20; 1–30 allowed).
    public var validityYears: Int?

    enum CodingKeys: String, CodingKey {
        case key, subject
        case validityYears = "validity-years"
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
    /// SHA-256 of the root's SubjectPublicKeyInfo, hex (as printed by the root ceremony).
    public var spkiSHA256: String

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
