import PKICore

/// The one error type of `ApplianceKit` (docs/conventions.md#one-error-shape): an opaque, growable ``Code`` and a reason
/// for people and logs. HTTP status codes are assigned only in `ApplianceError+HTTP.swift`.
/// (The shape: ``CodedError``.)
public typealias ApplianceError = CodedError<ApplianceErrorDomain>

/// The domain of ``ApplianceError``.
public enum ApplianceErrorDomain: ErrorDomain {}

extension CodedError.Code where Domain == ApplianceErrorDomain {
    /// Configuration could not be loaded or failed validation (the reason names the key path).
    public static var invalidConfiguration: Self { Self("invalidConfiguration") }
    /// The state directory is missing, has the wrong permissions or exposes a private key.
    public static var unsafeStateDirectory: Self { Self("unsafeStateDirectory") }
    /// A request body or parameter is malformed (bad base64, bad DER, bad JSON).
    public static var malformedRequest: Self { Self("malformedRequest") }
    /// A request body exceeded the configured limit.
    public static var requestTooLarge: Self { Self("requestTooLarge") }
    /// A request body in a media type the route does not take (EST wants application/pkcs10).
    public static var unsupportedMediaType: Self { Self("unsupportedMediaType") }
    /// The caller presented no credential, or one that does not verify.
    public static var unauthenticated: Self { Self("unauthenticated") }
    /// The caller is known but not allowed (revoked certificate, identity mismatch).
    public static var forbidden: Self { Self("forbidden") }
    /// The named object does not exist.
    public static var notFound: Self { Self("notFound") }
    /// A backing service could not answer; the request is refused (fail closed).
    public static var unavailable: Self { Self("unavailable") }
    /// The command parses but its library call has not been wired into this build yet.
    public static var notWired: Self { Self("notWired") }
    /// The process could not be hardened (core dumps, privileges) and refuses to serve.
    public static var hardening: Self { Self("hardening") }
}

extension CodedError where Domain == ApplianceErrorDomain {
    public static func stateDirectory(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.unsafeStateDirectory, reason, file: file, line: line)
    }
    public static func malformed(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.malformedRequest, reason, file: file, line: line)
    }
    public static func tooLarge(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.requestTooLarge, reason, file: file, line: line)
    }
    public static func unsupportedMediaType(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.unsupportedMediaType, reason, file: file, line: line)
    }
    public static func unauthenticated(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.unauthenticated, reason, file: file, line: line)
    }
    public static func forbidden(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.forbidden, reason, file: file, line: line)
    }
    public static func notFound(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.notFound, reason, file: file, line: line)
    }
    public static func unavailable(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.unavailable, reason, file: file, line: line)
    }
    public static func hardening(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.hardening, reason, file: file, line: line)
    }
    public static func configuration(_ keyPath: String, _ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.invalidConfiguration, "\(keyPath): \(reason)", file: file, line: line)
    }
    public static func notWired(_ call: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.notWired, "not wired yet: this command will call \(call)", file: file, line: line)
    }
}
