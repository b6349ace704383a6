/// A private data object (CKO_DATA) on a token: a small value only a logged-in user can read or
/// change (PKCS#11 v2.40 §4.5). Rootkeeper keeps the root database's anchor in one, so the
/// media cannot forge what the token remembers.
public struct PKCS11DataObject: Sendable, Equatable {
    /// CKA_LABEL.
    public let label: String
    /// CKA_APPLICATION: which program owns the object.
    public let application: String
    /// CKA_VALUE.
    public let value: [UInt8]
    let handle: UInt

    /// Appended to the label of a replacement while it is being written
    /// (``PKCS11Session/replaceDataObject(label:application:value:)``).
    public static let stagingSuffix = ".staged"
}

/// The explicit template of a private data object: nothing is left to the token's defaults (a
/// token that defaulted CKA_PRIVATE to false would let anyone read the value without the PIN, and
/// CKA_TOKEN false would lose it at logout).
enum DataObjectTemplate {
    static func create(label: String, application: String, value: [UInt8], modifiable: Bool = true) -> [Attribute] {
        [
            .ulong(CKA.class, CKO.data), .bool(CKA.token, true), .bool(CKA.private, true), .bool(CKA.modifiable, modifiable),
            .bytes(CKA.label, Array(label.utf8)), .bytes(CKA.application, Array(application.utf8)), .bytes(CKA.value, value),
        ]
    }

    /// What `find` matches: only private token objects, so a public object planted with the same
    /// label by someone without the PIN is never mistaken for ours.
    static func find(label: String) -> [Attribute] {
        [.ulong(CKA.class, CKO.data), .bool(CKA.token, true), .bool(CKA.private, true), .bytes(CKA.label, Array(label.utf8))]
    }

    /// Read back after creation; any difference is refused.
    static func expected(modifiable: Bool = true) -> [(type: UInt, value: Bool)] {
        [(CKA.token, true), (CKA.private, true), (CKA.modifiable, modifiable)]
    }
}
