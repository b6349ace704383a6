/// The one error type of the `SmartCard` module: an opaque ``Code`` and a reason for people.
public struct SmartCardError: Error, Hashable, Sendable, CustomStringConvertible {
    public struct Code: Hashable, Sendable, CustomStringConvertible {
        private let name: String
        private init(_ name: String) { self.name = name }
        public var description: String { name }

        /// The PC/SC daemon (pcscd) is not running or not reachable.
        public static let serviceUnavailable = Code("serviceUnavailable")
        /// The named reader is not connected.
        public static let readerNotFound = Code("readerNotFound")
        /// The wait ended before the card arrived or left.
        public static let timedOut = Code("timedOut")
        /// A PC/SC call failed for another reason.
        public static let pcscFailed = Code("pcscFailed")
    }

    public let code: Code
    public let reason: String

    public init(_ code: Code, _ reason: String) {
        self.code = code
        self.reason = reason
    }

    /// The reason alone (people read it); programs look at ``code``.
    public var description: String { reason }
}
