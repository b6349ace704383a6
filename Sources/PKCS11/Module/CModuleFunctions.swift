internal import CPKCS11
import PKICore

/// ``PKCS11Functions`` over a real, dlopen'ed PKCS#11 module.
///
/// Owns the `dlopen` handle and the initialised library: `C_Initialize` (with CKF_OS_LOCKING_OK)
/// in `init`, `C_Finalize` and `dlclose` in ``shutDown()`` (called by ``LoadedModules`` when the
/// last user leaves) or at the latest in `deinit`, like swift-nio-ssl's handle-owning classes.
/// Thread safety comes from the module (CKF_OS_LOCKING_OK); callers serialise use of a session.
final class CModuleFunctions: PKCS11Functions, @unchecked Sendable {
    private let handle: UnsafeMutableRawPointer
    private let functions: CK_FUNCTION_LIST_PTR

    init(path: String) throws {
        var list: CK_FUNCTION_LIST_PTR? = nil
        var message = [CChar](repeating: 0, count: 512)
        guard let handle = cpkcs11_load(path, &list, &message, message.count), let list else {
            let text = String(decoding: message.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
            throw PKCS11Error(
                .moduleLoadFailed,
                "cannot load PKCS#11 module \(path): \(text); give the path of the token vendor's PKCS#11 library "
                    + "(SoftHSM: /usr/lib/softhsm/libsofthsm2.so), with --module or `module:` in the environment")
        }
        self.handle = handle
        self.functions = list
        let rv = cpkcs11_initialize(list)
        if rv != CKR.ok {
            // Every stored property is set, so throwing runs `deinit`: mark the library shut
            // down first, or deinit would call C_Finalize on the module just unloaded (a crash
            // instead of the C_Initialize error, seen with a SoftHSM whose token directory was gone).
            isShutDown = true
            cpkcs11_unload(handle)
            do {
                try PKCS11Error.check(rv, "C_Initialize")
            } catch let error as PKCS11Error {
                throw PKCS11Error(
                    .moduleLoadFailed,
                    "the PKCS#11 module \(path) loaded but could not start (\(error.reason)): for SoftHSM check that SOFTHSM2_CONF names "
                        + "a readable configuration whose token directory exists; for a hardware token check that it is connected and its service runs",
                    function: error.function, returnValueName: error.returnValueName)
            }
        }
    }

    private var isShutDown = false

    /// C_Finalize and dlclose. Called by ``LoadedModules`` under its lock when the last module
    /// using this library goes away; afterwards no other method may be called.
    func shutDown() {
        guard !isShutDown else { return }
        isShutDown = true
        _ = cpkcs11_finalize(functions)
        cpkcs11_unload(handle)
    }

    deinit {
        shutDown()
    }

    func slotList(tokenPresent: Bool) throws -> [UInt] {
        var count: CK_ULONG = 0
        try PKCS11Error.check(cpkcs11_get_slot_list(functions, tokenPresent ? 1 : 0, nil, &count), "C_GetSlotList")
        var slots = [CK_SLOT_ID](repeating: 0, count: Int(count))
        try PKCS11Error.check(cpkcs11_get_slot_list(functions, tokenPresent ? 1 : 0, &slots, &count), "C_GetSlotList")
        return slots.prefix(Int(count)).map { UInt($0) }
    }

    func tokenInfo(slot: UInt) throws -> RawTokenInfo {
        var info = CK_TOKEN_INFO()
        try PKCS11Error.check(cpkcs11_get_token_info(functions, CK_SLOT_ID(slot), &info), "C_GetTokenInfo")
        return RawTokenInfo(
            label: Self.paddedString(info.label), manufacturer: Self.paddedString(info.manufacturerID),
            model: Self.paddedString(info.model), serial: Self.paddedString(info.serialNumber), flags: UInt(info.flags))
    }

    func mechanismList(slot: UInt) throws -> [UInt] {
        var count: CK_ULONG = 0
        try PKCS11Error.check(cpkcs11_get_mechanism_list(functions, CK_SLOT_ID(slot), nil, &count), "C_GetMechanismList")
        var list = [CK_MECHANISM_TYPE](repeating: 0, count: Int(count))
        try PKCS11Error.check(cpkcs11_get_mechanism_list(functions, CK_SLOT_ID(slot), &list, &count), "C_GetMechanismList")
        return list.prefix(Int(count)).map { UInt($0) }
    }

    func mechanismInfo(slot: UInt, mechanism: UInt) throws -> RawMechanismInfo {
        var info = CK_MECHANISM_INFO()
        try PKCS11Error.check(
            cpkcs11_get_mechanism_info(functions, CK_SLOT_ID(slot), CK_MECHANISM_TYPE(mechanism), &info), "C_GetMechanismInfo")
        return RawMechanismInfo(minKeySize: UInt(info.ulMinKeySize), maxKeySize: UInt(info.ulMaxKeySize), flags: UInt(info.flags))
    }

    func openSession(slot: UInt) throws -> UInt {
        var session: CK_SESSION_HANDLE = 0
        try PKCS11Error.check(cpkcs11_open_session(functions, CK_SLOT_ID(slot), &session), "C_OpenSession")
        return UInt(session)
    }

    func closeSession(_ session: UInt) throws {
        try PKCS11Error.check(cpkcs11_close_session(functions, CK_SESSION_HANDLE(session)), "C_CloseSession")
    }

    func login(session: UInt, pin: SecretBytes) throws {
        // The PIN is passed straight from the SecretBytes storage; no copy is made here.
        let rv = pin.withUnsafeBytes { bytes in
            cpkcs11_login_user(
                functions, CK_SESSION_HANDLE(session), bytes.baseAddress?.assumingMemoryBound(to: UInt8.self),
                CK_ULONG(bytes.count))
        }
        // Login state belongs to the application, not the session (PKCS#11 v2.40 §5.6): a second
        // session on a token we are logged in to may use its private objects already.
        if rv == 0x100 { return }  // CKR_USER_ALREADY_LOGGED_IN
        try PKCS11Error.check(rv, "C_Login")
    }

    func logout(session: UInt) throws {
        try PKCS11Error.check(cpkcs11_logout(functions, CK_SESSION_HANDLE(session)), "C_Logout")
    }

    func generateKeyPair(
        session: UInt, mechanism: UInt, publicTemplate: [Attribute], privateTemplate: [Attribute]
    ) throws -> (publicKey: UInt, privateKey: UInt) {
        var publicKey: CK_OBJECT_HANDLE = 0
        var privateKey: CK_OBJECT_HANDLE = 0
        let rv = Self.withTemplate(publicTemplate) { pub, pubCount in
            Self.withTemplate(privateTemplate) { priv, privCount in
                cpkcs11_generate_key_pair(
                    functions, CK_SESSION_HANDLE(session), CK_MECHANISM_TYPE(mechanism),
                    pub, pubCount, priv, privCount, &publicKey, &privateKey)
            }
        }
        try PKCS11Error.check(rv, "C_GenerateKeyPair")
        return (UInt(publicKey), UInt(privateKey))
    }

    func findObjects(session: UInt, template: [Attribute]) throws -> [UInt] {
        // Bounded: a root token holds a handful of objects; 4096 is far beyond any real use.
        var found = [CK_OBJECT_HANDLE](repeating: 0, count: 4096)
        var count: CK_ULONG = 0
        let rv = Self.withTemplate(template) { attributes, attributeCount in
            cpkcs11_find_objects(
                functions, CK_SESSION_HANDLE(session), attributes, attributeCount, &found, CK_ULONG(found.count), &count)
        }
        try PKCS11Error.check(rv, "C_FindObjects")
        return found.prefix(Int(count)).map { UInt($0) }
    }

    func attributes(session: UInt, object: UInt, types: [UInt]) throws -> [UInt: [UInt8]] {
        var result: [UInt: [UInt8]] = [:]
        // One attribute per call: C_GetAttributeValue reports sensitive/invalid attributes by
        // setting that entry's length to CK_UNAVAILABLE_INFORMATION, which is simplest per item.
        for type in types {
            var attribute = CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(type), pValue: nil, ulValueLen: 0)
            var rv = cpkcs11_get_attribute_value(functions, CK_SESSION_HANDLE(session), CK_OBJECT_HANDLE(object), &attribute, 1)
            if rv == CKR.attributeSensitive || rv == CKR.attributeTypeInvalid { continue }
            try PKCS11Error.check(rv, "C_GetAttributeValue")
            if attribute.ulValueLen == CK_ULONG.max { continue }  // CK_UNAVAILABLE_INFORMATION
            var buffer = [UInt8](repeating: 0, count: Int(attribute.ulValueLen))
            rv = buffer.withUnsafeMutableBytes { raw in
                attribute.pValue = raw.baseAddress
                return cpkcs11_get_attribute_value(functions, CK_SESSION_HANDLE(session), CK_OBJECT_HANDLE(object), &attribute, 1)
            }
            try PKCS11Error.check(rv, "C_GetAttributeValue")
            result[type] = Array(buffer.prefix(Int(attribute.ulValueLen)))
        }
        return result
    }

    func sign(session: UInt, mechanism: UInt, key: UInt, data: [UInt8]) throws -> [UInt8] {
        // 1024 bytes covers RSA-8192 and every ECDSA curve, so a single C_Sign call suffices and
        // the operation is never left active after a length query.
        var signature = [UInt8](repeating: 0, count: 1024)
        var length = CK_ULONG(signature.count)
        let rv = data.withUnsafeBufferPointer { input in
            cpkcs11_sign(
                functions, CK_SESSION_HANDLE(session), CK_MECHANISM_TYPE(mechanism), CK_OBJECT_HANDLE(key),
                input.baseAddress, CK_ULONG(input.count), &signature, &length)
        }
        try PKCS11Error.check(rv, "C_Sign")
        return Array(signature.prefix(Int(length)))
    }

    func createObject(session: UInt, template: [Attribute]) throws -> UInt {
        var object: CK_OBJECT_HANDLE = 0
        let rv = Self.withTemplate(template) { attributes, count in
            cpkcs11_create_object(functions, CK_SESSION_HANDLE(session), attributes, count, &object)
        }
        try PKCS11Error.check(rv, "C_CreateObject")
        return UInt(object)
    }

    func setAttributes(session: UInt, object: UInt, template: [Attribute]) throws {
        let rv = Self.withTemplate(template) { attributes, count in
            cpkcs11_set_attribute_value(functions, CK_SESSION_HANDLE(session), CK_OBJECT_HANDLE(object), attributes, count)
        }
        try PKCS11Error.check(rv, "C_SetAttributeValue")
    }

    func destroyObject(session: UInt, object: UInt) throws {
        try PKCS11Error.check(cpkcs11_destroy_object(functions, CK_SESSION_HANDLE(session), CK_OBJECT_HANDLE(object)), "C_DestroyObject")
    }

    /// Lays `template` out as a CK_ATTRIBUTE array for the duration of `body`.
    private static func withTemplate<R>(_ template: [Attribute], _ body: (UnsafeMutablePointer<CK_ATTRIBUTE>?, CK_ULONG) -> R) -> R {
        let buffers = template.map { attribute -> UnsafeMutableRawBufferPointer in
            let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(attribute.value.count, 1), alignment: 8)
            buffer.copyBytes(from: attribute.value)
            return buffer
        }
        defer { buffers.forEach { $0.deallocate() } }
        var attributes = zip(template, buffers).map { attribute, buffer in
            CK_ATTRIBUTE(type: CK_ATTRIBUTE_TYPE(attribute.type), pValue: buffer.baseAddress, ulValueLen: CK_ULONG(attribute.value.count))
        }
        return attributes.withUnsafeMutableBufferPointer { body($0.baseAddress, CK_ULONG($0.count)) }
    }

    /// CK_TOKEN_INFO strings are fixed-size, blank-padded, not NUL-terminated (PKCS#11 §3.2).
    private static func paddedString<T>(_ tuple: T) -> String {
        withUnsafeBytes(of: tuple) { raw in
            String(decoding: raw, as: UTF8.self).trimmingTrailing()
        }
    }
}

extension String {
    func trimmingTrailing() -> String {
        var scalars = Substring(self)
        while let last = scalars.last, last == " " || last == "\0" { scalars.removeLast() }
        return String(scalars)
    }
}
