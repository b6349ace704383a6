/// The one error type of `ApplianceKit` (docs/conventions.md#one-error-type-per-module): an opaque, growable ``Code`` and a reason
/// for people and logs. HTTP status codes are assigned only in `ApplianceError+HTTP.swift`.
public struct ApplianceError: Error, Hashable, CustomStringConvertible, Sendable {
    /// An opaque error category. New codes may be added in any release.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// Configuration could not be loaded or failed validation (the reason names the key path).
        public static let invalidConfiguration = Code("invalidConfiguration")
        /// The state directory is missing, has the wrong permissions or exposes a private key.
        public static let unsafeStateDirectory = Code("unsafeStateDirectory")
        /// A request body or parameter is malformed (bad base64, bad DER, bad JSON).
        public static let malformedRequest = Code("malformedRequest")
        /// A request body exceeded the configured limit.
        public static let requestTooLarge = Code("requestTooLarge")
        /// A request body in a media type the route does not take (EST wants application/pkcs10).
        public static let unsupportedMediaType = Code("unsupportedMediaType")
        /// The caller presented no credential, or one that does not verify.
        public static let unauthenticated = Code("unauthenticated")
        /// The caller is known but not allowed (revoked certificate, identity mismatch).
        public static let forbidden = Code("forbidden")
        /// The named object does not exist.
        public static let notFound = Code("notFound")
        /// A backing service could not answer; the request is refused (fail closed).
        public static let unavailable = Code("unavailable")
        /// The command parses but its library call has not been wired into this build yet.
        public static let notWired = Code("notWired")
        /// The process could not be hardened (core dumps, privileges) and refuses to serve.
        public static let hardening = Code("hardening")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The reason alone: descriptions end up in messages for people, which never show internal
    /// code names (issue #18); programs look at ``code``.
    public var description: String { reason }

    public static func configuration(_ keyPath: String, _ reason: String) -> ApplianceError {
        ApplianceError(.invalidConfiguration, "\(keyPath): \(reason)")
    }
    public static func stateDirectory(_ reason: String) -> ApplianceError { ApplianceError(.unsafeStateDirectory, reason) }
    public static func malformed(_ reason: String) -> ApplianceError { ApplianceError(.malformedRequest, reason) }
    public static func tooLarge(_ reason: String) -> ApplianceError { ApplianceError(.requestTooLarge, reason) }
    public static func unsupportedMediaType(_ reason: String) -> ApplianceError { ApplianceError(.unsupportedMediaType, reason) }
    public static func unauthenticated(_ reason: String) -> ApplianceError { ApplianceError(.unauthenticated, reason) }
    public static func forbidden(_ reason: String) -> ApplianceError { ApplianceError(.forbidden, reason) }
    public static func notFound(_ reason: String) -> ApplianceError { ApplianceError(.notFound, reason) }
    public static func unavailable(_ reason: String) -> ApplianceError { ApplianceError(.unavailable, reason) }
    public static func hardening(_ reason: String) -> ApplianceError { ApplianceError(.hardening, reason) }
    public static func notWired(_ call: String) -> ApplianceError {
        ApplianceError(.notWired, "not wired yet: this command will call \(call)")
    }
}
