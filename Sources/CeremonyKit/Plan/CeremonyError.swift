import PKICore

/// The one error type of `CeremonyKit`: an opaque code plus a sentence for the officer.
///
/// Messages name the key path for plan errors, the file for media errors and the PKCS#11 function
/// for token errors, and never contain a PIN.
/// (The shape: ``CodedError``.)
public typealias CeremonyError = CodedError<CeremonyErrorDomain>

/// The domain of ``CeremonyError``.
public enum CeremonyErrorDomain: ErrorDomain {}

extension CodedError.Code where Domain == CeremonyErrorDomain {
    public static var invalidPlan: Self { Self("invalidPlan") }
    public static var invalidEnvironment: Self { Self("invalidEnvironment") }
    public static var pinSource: Self { Self("pinSource") }
    public static var airGap: Self { Self("airGap") }
    public static var media: Self { Self("media") }
    public static var transcript: Self { Self("transcript") }
    public static var rootDatabase: Self { Self("rootDatabase") }
    public static var token: Self { Self("token") }
    public static var refused: Self { Self("refused") }
}

extension CodedError where Domain == CeremonyErrorDomain {
    public static func plan(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.invalidPlan, reason, file: file, line: line)
    }
    public static func environment(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.invalidEnvironment, reason, file: file, line: line)
    }
    public static func pin(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.pinSource, reason, file: file, line: line)
    }
    public static func media(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.media, reason, file: file, line: line)
    }
    public static func transcript(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.transcript, reason, file: file, line: line)
    }
    public static func rootDatabase(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.rootDatabase, reason, file: file, line: line)
    }
    public static func refused(_ reason: String, file: StaticString = #fileID, line: UInt = #line) -> Self {
        Self(.refused, reason, file: file, line: line)
    }
}
