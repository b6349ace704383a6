/// The one error type of `CeremonyKit`: an opaque code plus a sentence for the officer.
///
/// Messages name the key path for plan errors, the file for media errors and the PKCS#11 function
/// for token errors, and never contain a PIN.
public struct CeremonyError: Error, Hashable, CustomStringConvertible, Sendable {
    /// An opaque error category; new codes may be added.
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        public static let invalidPlan = Code("invalidPlan")
        public static let invalidEnvironment = Code("invalidEnvironment")
        public static let pinSource = Code("pinSource")
        public static let airGap = Code("airGap")
        public static let media = Code("media")
        public static let transcript = Code("transcript")
        public static let rootDatabase = Code("rootDatabase")
        public static let token = Code("token")
        public static let refused = Code("refused")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    public var description: String { reason }

    public static func plan(_ reason: String) -> CeremonyError { .init(.invalidPlan, reason) }
    public static func environment(_ reason: String) -> CeremonyError { .init(.invalidEnvironment, reason) }
    public static func pin(_ reason: String) -> CeremonyError { .init(.pinSource, reason) }
    public static func media(_ reason: String) -> CeremonyError { .init(.media, reason) }
    public static func transcript(_ reason: String) -> CeremonyError { .init(.transcript, reason) }
    public static func rootDatabase(_ reason: String) -> CeremonyError { .init(.rootDatabase, reason) }
    public static func refused(_ reason: String) -> CeremonyError { .init(.refused, reason) }
}
