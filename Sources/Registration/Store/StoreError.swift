/// The one error type of every store implementation (SQLite, PostgreSQL, in-memory).
///
/// Opaque, growable ``Code`` plus a reason for people and logs (docs/conventions.md#one-error-type-per-module). Stores never swallow an
/// error: every failure to read or write reaches the caller as a `StoreError`.
public struct StoreError: Error, Hashable, CustomStringConvertible, Sendable {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The requested row does not exist.
        public static let notFound = Code("notFound")
        /// A uniqueness rule would be broken (duplicate serial, second open registration for a hostname).
        public static let conflict = Code("conflict")
        /// An enrolment token is unknown, expired, bound elsewhere or already consumed.
        public static let tokenUnavailable = Code("tokenUnavailable")
        /// The row is not in the state the operation requires (e.g. approving a non-pending registration).
        public static let invalidState = Code("invalidState")
        /// The store cannot be opened or written: read-only file, missing directory, disk full, I/O error.
        public static let unavailable = Code("unavailable")
        /// Stored data cannot be decoded (or a schema newer than this program).
        public static let corrupt = Code("corrupt")
        /// The caller passed a value the store cannot hold.
        public static let invalidArgument = Code("invalidArgument")
        /// Any other database failure.
        public static let database = Code("database")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The reason alone: it reaches messages for people, which never show internal code names
    /// (docs/conventions.md#errors); programs look at ``code``.
    public var description: String { reason }

    /// A copy with the caller's context prefixed.
    public func context(_ context: String) -> StoreError { StoreError(code, "\(context): \(reason)") }

    public static func notFound(_ reason: String) -> StoreError { StoreError(.notFound, reason) }
    public static func conflict(_ reason: String) -> StoreError { StoreError(.conflict, reason) }
    public static func tokenUnavailable(_ reason: String) -> StoreError { StoreError(.tokenUnavailable, reason) }
    public static func invalidState(_ reason: String) -> StoreError { StoreError(.invalidState, reason) }
    public static func unavailable(_ reason: String) -> StoreError { StoreError(.unavailable, reason) }
    public static func corrupt(_ reason: String) -> StoreError { StoreError(.corrupt, reason) }
}
