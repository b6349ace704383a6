/// The one error type of the `PKCS11` module.
///
/// Like swift-certificates' `CertificateError`: an opaque, growable ``Code`` plus a reason for
/// people. When a PKCS#11 function fails, ``function`` and ``returnValueName`` name it, e.g.
/// `C_Login failed: CKR_PIN_INCORRECT`. Reasons never contain PINs or key material.
public struct PKCS11Error: Error, Hashable, Sendable, CustomStringConvertible {
    /// An opaque error category. New codes may be added in any release.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The module could not be loaded, or C_GetFunctionList failed.
        public static let moduleLoadFailed = Code("moduleLoadFailed")
        /// A PKCS#11 function returned something other than CKR_OK.
        public static let functionFailed = Code("functionFailed")
        /// No token matched the selector.
        public static let tokenNotFound = Code("tokenNotFound")
        /// More than one token matched the selector.
        public static let ambiguousToken = Code("ambiguousToken")
        /// An object with the requested label or ID already exists.
        public static let objectExists = Code("objectExists")
        /// A generated key's attributes are not what the template demanded.
        public static let attributeMismatch = Code("attributeMismatch")
        /// The requested key is not on the token.
        public static let keyNotFound = Code("keyNotFound")
        /// A PKCS#11 URI (RFC 7512) could not be parsed.
        public static let malformedURI = Code("malformedURI")
        /// A key, curve, mechanism or signature algorithm that is not supported.
        public static let unsupported = Code("unsupported")
        /// The private key lives in the token and cannot be exported.
        public static let notExportable = Code("notExportable")
        /// An argument outside what the operation accepts (e.g. an empty key label).
        public static let invalidParameter = Code("invalidParameter")
        /// The token returned data that could not be decoded.
        public static let malformedResponse = Code("malformedResponse")
        /// The token holding a key went away (removed, powered off, sessions lost) and could
        /// not be reached again; nothing was signed.
        public static let tokenUnavailable = Code("tokenUnavailable")
    }

    public let code: Code
    public let reason: String
    /// The PKCS#11 function that failed (e.g. `C_Login`), if any.
    public let function: String?
    /// The symbolic name of the CK_RV (e.g. `CKR_PIN_INCORRECT`), if a function failed.
    public let returnValueName: String?

    public init(_ code: Code, _ reason: String, function: String? = nil, returnValueName: String? = nil) {
        self.code = code
        self.reason = reason
        self.function = function
        self.returnValueName = returnValueName
    }

    /// The reason alone: people read it, and the code is an internal category (match on ``code``).
    public var description: String { reason }

    /// A copy with the caller's context prefixed to the reason.
    public func context(_ context: String) -> PKCS11Error {
        PKCS11Error(code, "\(context): \(reason)", function: function, returnValueName: returnValueName)
    }

    /// The single translation of a CK_RV into a Swift error (docs/conventions.md#wrapping-c). `rv` is a CK_RV.
    static func check(_ rv: UInt, _ function: String) throws {
        guard rv != CKR.ok else { return }
        let name = CKR.name(of: rv)
        throw PKCS11Error(.functionFailed, "\(function) failed: \(name)", function: function, returnValueName: name)
    }

    static func tokenNotFound(_ reason: String) -> PKCS11Error { PKCS11Error(.tokenNotFound, reason) }
    static func ambiguous(_ reason: String) -> PKCS11Error { PKCS11Error(.ambiguousToken, reason) }
    static func exists(_ reason: String) -> PKCS11Error { PKCS11Error(.objectExists, reason) }
    static func mismatch(_ reason: String) -> PKCS11Error { PKCS11Error(.attributeMismatch, reason) }
    static func keyNotFound(_ reason: String) -> PKCS11Error { PKCS11Error(.keyNotFound, reason) }
    static func malformedURI(_ reason: String) -> PKCS11Error { PKCS11Error(.malformedURI, reason) }
    static func unsupported(_ reason: String) -> PKCS11Error { PKCS11Error(.unsupported, reason) }
    static func malformedResponse(_ reason: String) -> PKCS11Error { PKCS11Error(.malformedResponse, reason) }
}
