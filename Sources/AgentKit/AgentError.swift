import PKICore

/// The one error type of `AgentKit`: an opaque code and a reason that never contains key material.
/// (The shape: ``CodedError``.)
public typealias AgentError = CodedError<AgentErrorDomain>

/// The domain of ``AgentError``.
public enum AgentErrorDomain: ErrorDomain {}

extension CodedError.Code where Domain == AgentErrorDomain {
    /// The server's certificate chain, hostname or pin did not verify; nothing was sent.
    public static var untrustedServer: Self { Self("untrustedServer") }
    /// The server answered with a refusal (403, 401, 4xx).
    public static var refused: Self { Self("refused") }
    /// Transport or protocol failure (connection, malformed response).
    public static var transport: Self { Self("transport") }
    /// Bad input (URL, pin, hostname) or unusable local files.
    public static var invalidInput: Self { Self("invalidInput") }
    /// The enrolment stayed pending for longer than the caller allowed.
    public static var stillPending: Self { Self("stillPending") }
    /// The renewal succeeded but the hook run after it (`--exec`, `--reload-unit`) failed.
    public static var hookFailed: Self { Self("hookFailed") }
}
