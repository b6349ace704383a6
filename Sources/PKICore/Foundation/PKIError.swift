/// The error domain of `PKICore`, modelled on swift-certificates' `CertificateError`.
///
/// Policy outcomes (a CSR that does not meet policy, a lint rule that fails) are *values* in the
/// API that produces them; `PKIError` is for "could not evaluate" and for refusing to continue.
public enum PKIErrorDomain: ErrorDomain {}

/// The one error type of `PKICore` (the shape: ``CodedError``).
public typealias PKIError = CodedError<PKIErrorDomain>

extension CodedError.Code where Domain == PKIErrorDomain {
    /// Bytes that are not valid DER/PEM, or a structure that is not what was expected.
    public static var malformedInput: Self { Self("malformedInput") }
    /// A signature did not verify.
    public static var invalidSignature: Self { Self("invalidSignature") }
    /// A request was refused by policy (the reason names the rule).
    public static var policyViolation: Self { Self("policyViolation") }
    /// A lint rule failed before signing (the reason names the rule).
    public static var lintFailure: Self { Self("lintFailure") }
    /// Signing failed or produced something other than what was linted.
    public static var signingFailure: Self { Self("signingFailure") }
    /// A media bundle failed its manifest check.
    public static var bundleIntegrity: Self { Self("bundleIntegrity") }
    /// An algorithm or key type that Rootkeeper does not support.
    public static var unsupportedAlgorithm: Self { Self("unsupportedAlgorithm") }
    /// Decryption of protected material failed (wrong passphrase or tampering).
    public static var decryptionFailure: Self { Self("decryptionFailure") }
    /// A value outside the bounds the caller or profile allows.
    public static var invalidParameter: Self { Self("invalidParameter") }
}

extension CodedError where Domain == PKIErrorDomain {
    public static func malformed(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.malformedInput, reason, file: file, line: line)
    }
    public static func invalidSignature(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.invalidSignature, reason, file: file, line: line)
    }
    public static func policy(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.policyViolation, reason, file: file, line: line)
    }
    public static func lint(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.lintFailure, reason, file: file, line: line)
    }
    public static func signing(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.signingFailure, reason, file: file, line: line)
    }
    public static func bundle(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.bundleIntegrity, reason, file: file, line: line)
    }
    public static func unsupported(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.unsupportedAlgorithm, reason, file: file, line: line)
    }
    public static func decryption(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.decryptionFailure, reason, file: file, line: line)
    }
    public static func invalidParameter(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.invalidParameter, reason, file: file, line: line)
    }
}
