import Foundation
import PKCS11
import PKICore
import SecureFiles
import SmartCard

/// The sentence an officer reads for an error from any layer below the ceremony: the reason
/// alone, without the internal category (`invalidParameter:`, `objectExists:`), and a Foundation
/// file error reduced to what happened to which file instead of `Error Domain=NSCocoaErrorDomain…`.
public enum ErrorText {
    public static func of(_ error: any Error) -> String {
        switch error {
        case let error as CeremonyError: return error.reason
        case let error as PKCS11Error: return error.reason
        case let error as PKIError: return error.reason
        case let error as SecureFileError: return error.reason
        case let error as SmartCardError: return error.reason
        case let error as CocoaError: return cocoa(error)
        default:
            let ns = error as NSError
            if ns.domain == NSCocoaErrorDomain { return cocoa(CocoaError(CocoaError.Code(rawValue: ns.code), userInfo: ns.userInfo)) }
            if ns.domain == NSPOSIXErrorDomain { return String(cString: strerror(Int32(ns.code))) }
            return "\(ErrorText.of(error))"
        }
    }

    static func cocoa(_ error: CocoaError) -> String {
        let path = error.filePath ?? (error.userInfo[NSURLErrorKey] as? URL)?.path ?? "the file"
        switch error.code {
        case .fileReadNoSuchFile, .fileNoSuchFile: return "\(path) does not exist"
        case .fileReadNoPermission, .fileWriteNoPermission: return "permission denied for \(path): check its owner and mode (ls -l)"
        case .fileWriteOutOfSpace: return "no space left for \(path)"
        case .fileWriteVolumeReadOnly: return "\(path) is on a read-only file system"
        case .fileWriteFileExists: return "\(path) already exists"
        default: return "cannot use \(path) (\(error.localizedDescription))"
        }
    }
}
