extension PKCS11Session {
    /// Creates a token data object (CKO_DATA, PKCS#11 v2.40 §4.5): private (only a logged-in
    /// user can see or change it) and not modifiable, labelled `label`, owned by `application`.
    ///
    /// Used for small markers the tools leave next to their keys, e.g. whether a root is a
    /// production or a rehearsal root.
    public func createDataObject(label: String, application: String, value: [UInt8]) throws {
        try perform {
            _ = try functions.createObject(session: handle, template: [
                .ulong(CKA.class, CKO.data), .bool(CKA.token, true), .bool(CKA.private, true),
                .bool(CKA.modifiable, false), .bytes(CKA.label, Array(label.utf8)),
                .bytes(CKA.application, Array(application.utf8)), .bytes(CKA.value, value),
            ])
        }
    }

    /// The values of every data object labelled `label` that this session can see.
    public func dataObjectValues(label: String) throws -> [[UInt8]] {
        try perform {
            let objects = try functions.findObjects(
                session: handle, template: [.ulong(CKA.class, CKO.data), .bytes(CKA.label, Array(label.utf8))])
            return try objects.map { object in
                guard let value = try functions.attributes(session: handle, object: object, types: [CKA.value])[CKA.value] else {
                    throw PKCS11Error.mismatch("the data object \"\(label)\" has no readable CKA_VALUE")
                }
                return value
            }
        }
    }

    /// How many private keys this session can see (a logged-in session sees them all).
    public func privateKeyCount() throws -> Int {
        try perform { try functions.findObjects(session: handle, template: [.ulong(CKA.class, CKO.privateKey)]).count }
    }
}
