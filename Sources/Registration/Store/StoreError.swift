import PKICore

/// The one error type of every store implementation (SQLite, PostgreSQL, in-memory).
///
/// Opaque, growable ``Code`` plus a reason for people and logs (docs/conventions.md#one-error-shape). Stores never swallow an
/// error: every failure to read or write reaches the caller as a `StoreError`.
/// (The shape: ``CodedError``.)
public typealias StoreError = CodedError<StoreErrorDomain>

/// The domain of ``StoreError``.
public enum StoreErrorDomain: ErrorDomain {}

extension CodedError.Code where Domain == StoreErrorDomain {
    /// The requested row does not exist.
    public static var notFound: Self { Self("notFound") }
    /// A uniqueness rule would be broken (duplicate serial, second open registration for a hostname).
    public static var conflict: Self { Self("conflict") }
    /// An enrolment token is unknown, expired, bound elsewhere or already consumed.
    public static var tokenUnavailable: Self { Self("tokenUnavailable") }
    /// The row is not in the state the operation requires (e.g. approving a non-pending registration).
    public static var invalidState: Self { Self("invalidState") }
    /// The store cannot be opened or written: read-only file, missing directory, disk full, I/O error.
    public static var unavailable: Self { Self("unavailable") }
    /// Stored data cannot be decoded (or a schema newer than this program).
    public static var corrupt: Self { Self("corrupt") }
    /// The caller passed a value the store cannot hold.
    public static var invalidArgument: Self { Self("invalidArgument") }
    /// Any other database failure.
    public static var database: Self { Self("database") }
}

extension CodedError where Domain == StoreErrorDomain {
    public static func notFound(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.notFound, reason, file: file, line: line)
    }
    public static func conflict(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.conflict, reason, file: file, line: line)
    }
    public static func tokenUnavailable(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.tokenUnavailable, reason, file: file, line: line)
    }
    public static func invalidState(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.invalidState, reason, file: file, line: line)
    }
    public static func unavailable(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.unavailable, reason, file: file, line: line)
    }
    public static func corrupt(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.corrupt, reason, file: file, line: line)
    }
}
