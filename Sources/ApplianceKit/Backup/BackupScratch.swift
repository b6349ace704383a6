import Foundation

/// A private (0700) working directory under the system temporary directory for the database
/// snapshot and for opening an archive's database read-only; removed when the operation ends.
struct BackupScratch {
    let path: String

    init() throws {
        var template = Array((NSTemporaryDirectory() as NSString).appendingPathComponent("rootkeeper-backup-XXXXXX").utf8CString)
        guard let made = template.withUnsafeMutableBufferPointer({ buffer in buffer.baseAddress.flatMap { mkdtemp($0) } }) else {
            throw ApplianceError.unavailable("cannot create a private temporary directory: \(String(cString: strerror(errno)))")
        }
        path = String(cString: made)
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}
