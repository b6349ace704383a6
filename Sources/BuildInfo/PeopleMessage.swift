import Foundation

/// The one-sentence message a failure is printed as by `appliance` and `agent` (issue #18,
/// "error messages for people"): the reason alone, never an internal code name
/// (`unavailable: …`, `objectExists: …`) nor Foundation's `Error Domain=NSCocoaErrorDomain Code=260 …`.
public enum PeopleMessage {
    /// A failure already worded for people; printed by ArgumentParser as `Error: <text>`.
    public struct Failure: Error, CustomStringConvertible, Sendable {
        public let description: String
        public init(_ description: String) { self.description = description }
    }

    /// `error` reworded for people, or nil when it is not one of ours (ArgumentParser's own
    /// usage errors, `--help`, `--version`, exit codes pass through unchanged).
    public static func failure(for error: any Error) -> Failure? {
        if error is Failure { return nil }
        // The project's error types (docs/conventions.md#one-error-shape) all carry an
        // opaque `code` for programs and a `reason` for people: print the reason only.
        let children = Mirror(reflecting: error).children
        if children.contains(where: { $0.label == "code" }), let reason = children.first(where: { $0.label == "reason" })?.value as? String {
            return Failure(reason)
        }
        let ns = error as NSError
        if ns.domain == NSCocoaErrorDomain || ns.domain == NSPOSIXErrorDomain {
            return Failure(fileMessage(ns))
        }
        return nil
    }

    /// A file error as `cannot read PATH: No such file or directory`.
    public static func fileMessage(_ error: NSError) -> String {
        let path = (error.userInfo[NSFilePathErrorKey] as? String) ?? (error.userInfo[NSURLErrorKey] as? URL)?.path
        let reason: String
        if let underlying = error.userInfo[NSUnderlyingErrorKey] as? NSError, underlying.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(underlying.code)))
        } else if error.domain == NSPOSIXErrorDomain {
            reason = String(cString: strerror(Int32(error.code)))
        } else {
            switch error.code {
            case NSFileReadNoSuchFileError, NSFileNoSuchFileError: reason = "No such file or directory"
            case NSFileReadNoPermissionError, NSFileWriteNoPermissionError: reason = "Permission denied"
            case NSFileReadCorruptFileError, NSFileReadInapplicableStringEncodingError: reason = "not readable text"
            default: reason = "file error \(error.code)"
            }
        }
        guard let path else { return reason }
        return "cannot read \(path): \(reason); check the path and its permissions"
    }
}
