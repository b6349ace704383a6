extension PKCS11Session {
    /// The private token data objects labelled `label` (normally none or one), with their values.
    ///
    /// Needs a logged-in session: private objects are invisible to C_FindObjects otherwise
    /// (PKCS#11 v2.40 §4.4, CKA_PRIVATE), which is the point of keeping an anchor in one.
    public func dataObjects(label: String) throws -> [PKCS11DataObject] {
        try perform {
            let handles = try functions.findObjects(session: handle, template: DataObjectTemplate.find(label: label))
            return try handles.map { object in
                let values = try functions.attributes(session: handle, object: object, types: [CKA.application, CKA.value, CKA.private])
                guard values[CKA.private] == [1] else {
                    throw PKCS11Error.mismatch("the data object \"\(label)\" is not private (CKA_PRIVATE is not true)")
                }
                guard let value = values[CKA.value] else {
                    throw PKCS11Error.malformedResponse("the token did not return CKA_VALUE of the data object \"\(label)\"")
                }
                return PKCS11DataObject(
                    label: label, application: String(decoding: values[CKA.application] ?? [], as: UTF8.self), value: value, handle: object)
            }
        }
    }

    /// Creates a private token data object (CKO_DATA) holding `value`; `modifiable: false` for a
    /// marker that must never change once written (e.g. whether a root is a production root).
    ///
    /// Refuses when a private data object with `label` already exists; after C_CreateObject,
    /// CKA_TOKEN, CKA_PRIVATE and CKA_MODIFIABLE are read back and any difference is thrown as
    /// `attributeMismatch` (the object is left in place for inspection).
    @discardableResult
    public func createDataObject(label: String, application: String, value: [UInt8], modifiable: Bool = true) throws -> PKCS11DataObject {
        guard !label.isEmpty else { throw PKCS11Error(.invalidParameter, "a data object needs a non-empty label") }
        return try perform {
            if !(try functions.findObjects(session: handle, template: DataObjectTemplate.find(label: label))).isEmpty {
                throw PKCS11Error.exists("the token already holds a private data object labelled \"\(label)\"; refusing to create another")
            }
            let object = try functions.createObject(
                session: handle, template: DataObjectTemplate.create(label: label, application: application, value: value, modifiable: modifiable))
            let expected = DataObjectTemplate.expected(modifiable: modifiable)
            let readBack = try functions.attributes(session: handle, object: object, types: expected.map(\.type))
            let differing = expected.filter { readBack[$0.type] != [$0.value ? 1 : 0] }
                .map { CKA.names[$0.type] ?? "0x\(String($0.type, radix: 16))" }
            guard differing.isEmpty else {
                throw PKCS11Error.mismatch(
                    "the data object \"\(label)\" was created but \(differing.joined(separator: ", ")) differ from the template; it was left on the token for inspection"
                )
            }
            return PKCS11DataObject(label: label, application: application, value: value, handle: object)
        }
    }

    /// Gives `label` the value `value`, creating the object or replacing the existing one.
    ///
    /// A data object's CKA_VALUE cannot be changed once it exists (PKCS#11 v2.40 §4.5: it is not
    /// among the attributes C_SetAttributeValue may modify; SoftHSM answers
    /// CKR_ATTRIBUTE_READ_ONLY), but CKA_LABEL can (§4.4, footnote 8). So the new value is
    /// created under `label` + ``PKCS11DataObject/stagingSuffix``, checked, the old object is
    /// destroyed and the staged one relabelled. Whatever step fails, the token holds the old
    /// object, the staged one, or both: ``dataObject(label:)`` finds the right one and the next
    /// replace finishes the job. Any stale staged object is destroyed first.
    @discardableResult
    public func replaceDataObject(label: String, application: String, value: [UInt8]) throws -> PKCS11DataObject {
        let staging = label + PKCS11DataObject.stagingSuffix
        for stale in try dataObjects(label: staging) {
            try perform { try functions.destroyObject(session: handle, object: stale.handle) }
        }
        let staged = try createDataObject(label: staging, application: application, value: value)
        return try perform {
            let stored = try functions.attributes(session: handle, object: staged.handle, types: [CKA.value])[CKA.value]
            guard stored == value else {
                throw PKCS11Error.mismatch("the token did not store the new value of the data object \"\(label)\"")
            }
            for old in try functions.findObjects(session: handle, template: DataObjectTemplate.find(label: label)) {
                try functions.destroyObject(session: handle, object: old)
            }
            try functions.setAttributes(session: handle, object: staged.handle, template: [.bytes(CKA.label, Array(label.utf8))])
            return PKCS11DataObject(label: label, application: application, value: value, handle: staged.handle)
        }
    }

    /// The one private data object `label`, or the staged replacement a crash in
    /// ``replaceDataObject(label:application:value:)`` left behind after destroying the old one.
    /// More than one object under `label` throws `objectExists`.
    public func dataObject(label: String) throws -> PKCS11DataObject? {
        let current = try dataObjects(label: label)
        guard current.count <= 1 else {
            throw PKCS11Error.exists("the token holds \(current.count) private data objects labelled \"\(label)\"; expected one")
        }
        if let object = current.first { return object }
        let staged = try dataObjects(label: label + PKCS11DataObject.stagingSuffix)
        guard staged.count <= 1 else {
            throw PKCS11Error.exists("the token holds \(staged.count) staged data objects for \"\(label)\"; expected at most one")
        }
        return staged.first
    }
}
