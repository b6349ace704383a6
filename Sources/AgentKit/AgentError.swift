/// The one error type of `AgentKit`: an opaque code and a reason that never contains key material.
public struct AgentError: Error, Hashable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }
        /// The server's certificate chain, hostname or pin did not verify; nothing was sent.
        public static let untrustedServer = Code("untrustedServer")
        /// The server answered with a refusal (403, 401, 4xx).
        public static let refused = Code("refused")
        /// Transport or protocol failure (connection, malformed response).
        public static let transport = Code("transport")
        /// Bad input (URL, pin, hostname) or unusable local files.
        public static let invalidInput = Code("invalidInput")
        /// The enrolment stayed pending for longer than the caller allowed.
        public static let stillPending = Code("stillPending")
        /// The renewal succeeded but the hook run after it (`--exec`, `--reload-unit`) failed.
        public static let hookFailed = Code("hookFailed")
    }
    public let code: Code
    public let reason: String
    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }
    /// The reason alone: it is what people read (issue #18: no internal code names in messages);
    /// programs look at ``code``.
    public var description: String { reason }
}
