/// The one error type of `PKICore`.
///
/// Modelled on swift-certificates' `CertificateError`: an opaque, growable ``Code`` plus a
/// human-readable reason. Callers match on ``code``; the reason is for people and logs and must
/// never contain secrets (PINs, passphrases, key material).
///
/// Policy outcomes (a CSR that does not meet policy, a lint rule that fails) are *values* in the
/// API that produces them; `PKIError` is for "could not evaluate" and for refusing to continue.
public struct PKIError: Error, Hashable, CustomStringConvertible, Sendable {
    /// An opaque error category. New codes may be added in any release.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Bytes that are not valid DER/PEM, or a structure that is not what was expected.
        public static let malformedInput = Code("malformedInput")
        /// A signature did not verify.
        public static let invalidSignature = Code("invalidSignature")
        /// A request was refused by policy (the reason names the rule).
        public static let policyViolation = Code("policyViolation")
        /// A lint rule failed before signing (the reason names the rule).
        public static let lintFailure = Code("lintFailure")
        /// Signing failed or produced something other than what was linted.
        public static let signingFailure = Code("signingFailure")
        /// A media bundle failed its manifest check.
        public static let bundleIntegrity = Code("bundleIntegrity")
        /// An algorithm or key type that Rootkeeper does not support.
        public static let unsupportedAlgorithm = Code("unsupportedAlgorithm")
        /// Decryption of protected material failed (wrong passphrase or tampering).
        public static let decryptionFailure = Code("decryptionFailure")
        /// A value outside the bounds the caller or profile allows.
        public static let invalidParameter = Code("invalidParameter")
    }

    /// What kind of failure this is.
    public let code: Code
    /// A sentence for people and logs. Never contains secrets.
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The reason alone: descriptions end up in messages for people, which never show internal
    /// code names (issue #18); programs look at ``code``.
    public var description: String { reason }

    /// Returns a copy of this error with the caller's context prefixed to the reason.
    public func context(_ context: String) -> PKIError {
        PKIError(code, "\(context): \(reason)")
    }

    public static func malformed(_ reason: String) -> PKIError { PKIError(.malformedInput, reason) }
    public static func invalidSignature(_ reason: String) -> PKIError { PKIError(.invalidSignature, reason) }
    public static func policy(_ reason: String) -> PKIError { PKIError(.policyViolation, reason) }
    public static func lint(_ reason: String) -> PKIError { PKIError(.lintFailure, reason) }
    public static func signing(_ reason: String) -> PKIError { PKIError(.signingFailure, reason) }
    public static func bundle(_ reason: String) -> PKIError { PKIError(.bundleIntegrity, reason) }
    public static func unsupported(_ reason: String) -> PKIError { PKIError(.unsupportedAlgorithm, reason) }
    public static func decryption(_ reason: String) -> PKIError { PKIError(.decryptionFailure, reason) }
    public static func invalidParameter(_ reason: String) -> PKIError { PKIError(.invalidParameter, reason) }
}
