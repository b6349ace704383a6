extension PKCS11Session {
    /// How many private keys this session can see (a logged-in session sees them all).
    public func privateKeyCount() throws -> Int {
        try perform { try functions.findObjects(session: handle, template: [.ulong(CKA.class, CKO.privateKey)]).count }
    }
}
