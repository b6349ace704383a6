import PKICore

/// The one error type of the `SmartCard` module: an opaque ``Code`` and a reason for people.
/// (The shape: ``CodedError``.)
public typealias SmartCardError = CodedError<SmartCardErrorDomain>

/// The domain of ``SmartCardError``.
public enum SmartCardErrorDomain: ErrorDomain {}

extension CodedError.Code where Domain == SmartCardErrorDomain {
    /// The PC/SC daemon (pcscd) is not running or not reachable.
    public static var serviceUnavailable: Self { Self("serviceUnavailable") }
    /// The named reader is not connected.
    public static var readerNotFound: Self { Self("readerNotFound") }
    /// The wait ended before the card arrived or left.
    public static var timedOut: Self { Self("timedOut") }
    /// A PC/SC call failed for another reason.
    public static var pcscFailed: Self { Self("pcscFailed") }
}
