/// The one error shape of Rootkeeper (docs/conventions.md#one-error-shape): an opaque, growable
/// ``Code`` (not a public enum that can never grow), a reason for people that says what is wrong
/// and what to do, and where it was thrown. Each module has its own error type as a domain of this
/// one (`PKIError`, `StoreError`, `ApplianceError`, …), so a `catch` still tells the modules apart:
///
/// ```swift
/// public enum StoreErrorDomain: ErrorDomain {}
/// public typealias StoreError = CodedError<StoreErrorDomain>
/// extension CodedError.Code where Domain == StoreErrorDomain {
///     public static var notFound: Self { Self("notFound") }
/// }
/// ```
///
/// The description is the reason alone: it reaches messages for people, which never show internal
/// code names; programs match on ``code``. Two errors are equal when code and reason are; the
/// location is for logs and debugging, not identity.
public struct CodedError<Domain: ErrorDomain>: Error, Hashable, CustomStringConvertible, Sendable {
    /// An opaque error category of `Domain`. New codes may be added in any release.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        /// Declares a code; each domain declares its codes as static members.
        public init(_ name: String) { self.name = name }
        public var description: String { name }
    }

    /// What kind of failure this is.
    public let code: Code
    /// A sentence for people and logs: what is wrong and what to do. Never contains secrets.
    public let reason: String
    /// Where the error was made (`Module/File.swift:line`), for logs and debugging.
    public let location: String

    public init(_ code: Code, _ reason: String, file: StaticString = #fileID, line: UInt = #line) {
        self.code = code
        self.reason = reason
        self.location = "\(file):\(line)"
    }

    private init(_ code: Code, _ reason: String, location: String) {
        self.code = code
        self.reason = reason
        self.location = location
    }

    public var description: String { reason }

    /// A copy with the caller's context prefixed to the reason (same code, same location).
    public func context(_ context: String) -> Self { Self(code, "\(context): \(reason)", location: location) }

    public static func == (a: Self, b: Self) -> Bool { a.code == b.code && a.reason == b.reason }
    public func hash(into hasher: inout Hasher) {
        hasher.combine(code)
        hasher.combine(reason)
    }
}

/// Marks the error domain of a module: an empty enum whose only use is to make that module's
/// ``CodedError`` a type of its own.
public protocol ErrorDomain: Sendable {}
