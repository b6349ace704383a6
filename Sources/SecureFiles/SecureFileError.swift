import PKICore

/// The one error type of `SecureFiles`: an opaque code plus a reason naming the path (never
/// file contents).
/// (The shape: ``CodedError``.)
public typealias SecureFileError = CodedError<SecureFileErrorDomain>

/// The domain of ``SecureFileError``.
public enum SecureFileErrorDomain: ErrorDomain {}

extension CodedError.Code where Domain == SecureFileErrorDomain {
    /// The target already exists (outputs are never overwritten).
    public static var alreadyExists: Self { Self("alreadyExists") }
    /// A permission or ownership check failed (e.g. a key readable by group/other).
    public static var insecurePermissions: Self { Self("insecurePermissions") }
    /// A system call failed.
    public static var ioFailure: Self { Self("ioFailure") }
    /// The path is not what was expected (not a regular file, a symlink, too large).
    public static var unexpectedFile: Self { Self("unexpectedFile") }
    /// A PIN/passphrase source that is not prompt, fd:N or a file path, or an empty secret.
    public static var invalidSecretSource: Self { Self("invalidSecretSource") }
}
