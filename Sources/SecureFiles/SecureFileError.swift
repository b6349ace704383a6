/// The one error type of `SecureFiles`: an opaque code plus a reason naming the path (never
/// file contents).
public struct SecureFileError: Error, Hashable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }
        /// The target already exists (outputs are never overwritten).
        public static let alreadyExists = Code("alreadyExists")
        /// A permission or ownership check failed (e.g. a key readable by group/other).
        public static let insecurePermissions = Code("insecurePermissions")
        /// A system call failed.
        public static let ioFailure = Code("ioFailure")
        /// The path is not what was expected (not a regular file, a symlink, too large).
        public static let unexpectedFile = Code("unexpectedFile")
        /// A PIN/passphrase source that is not prompt, fd:N or a file path, or an empty secret.
        public static let invalidSecretSource = Code("invalidSecretSource")
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
}
