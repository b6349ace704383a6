import PKCS11

/// Whether a token's root is a production or a rehearsal root, recorded on the token itself when
/// the root key is generated: a private, unmodifiable CKO_DATA object labelled
/// `rootkeeper-root-kind` whose CKA_VALUE is `production` or `rehearsal`.
///
/// A rehearsal must never touch the production root (a rehearsal plan relaxes the air gap and
/// may skip the CSR hash), and a production ceremony must never sign with a rehearsal root. The
/// plan says which it is (hashed and recorded); the token says which it holds; they must agree.
public enum RootKindMarker {
    /// CKA_LABEL of the marker (distinct from the root database anchor's own data object).
    public static let label = "rootkeeper-root-kind"
    /// CKA_APPLICATION of the marker.
    static let application = "rootkeeper"

    /// The two kinds of root.
    public enum Kind: String, Sendable {
        case production, rehearsal

        init(rehearsal: Bool) { self = rehearsal ? .rehearsal : .production }
    }

    /// Reads the marker and refuses a token whose root is of the other kind than the plan.
    ///
    /// A token with no marker is accepted for a production plan (roots generated before markers
    /// existed are production roots), but refused for a rehearsal when it holds any private key:
    /// an unmarked key may be the production root, and a rehearsal does not guess (fail closed).
    /// - Returns: the kind found on the token, or nil when it carries no marker.
    @discardableResult
    static func check(_ session: PKCS11Session, rehearsal: Bool) throws -> Kind? {
        let found = try kinds(on: session)
        let wanted = Kind(rehearsal: rehearsal)
        if found.count > 1 {
            throw CeremonyError.refused(
                "the token carries both a production and a rehearsal \(label) marker; it cannot be trusted for either (use another token)")
        }
        if let kind = found.first {
            guard kind == wanted else {
                throw CeremonyError.refused(
                    rehearsal
                        ? "this token holds a PRODUCTION root (\(label) = production): a rehearsal plan is refused on it; rehearse on a rehearsal token"
                        : "this token holds a REHEARSAL root (\(label) = rehearsal): a production plan is refused on it; use the production root token"
                )
            }
            return kind
        }
        if rehearsal, try session.privateKeyCount() > 0 {
            throw CeremonyError.refused(
                "this token holds private keys but no \(label) marker, so its root may be a production root: a rehearsal is refused on it")
        }
        return nil
    }

    /// Marks the token's root as `kind`, unless it already carries that marker.
    static func mark(_ session: PKCS11Session, as kind: Kind) throws {
        guard try !kinds(on: session).contains(kind) else { return }
        try session.createDataObject(label: label, application: application, value: Array(kind.rawValue.utf8), modifiable: false)
    }

    /// Every kind recorded on the token; a marker with another value is refused (fail closed).
    static func kinds(on session: PKCS11Session) throws -> Set<Kind> {
        var kinds: Set<Kind> = []
        for value in try session.dataObjects(label: label).map(\.value) {
            let text = String(decoding: value, as: UTF8.self)
            guard let kind = Kind(rawValue: text) else {
                throw CeremonyError.refused("the token's \(label) marker says '\(text)', neither production nor rehearsal")
            }
            kinds.insert(kind)
        }
        return kinds
    }
}
