import CAStore
import Foundation
import PKICore
import SecureFiles

/// What a backup holds, computed from its verified contents: the files, the number of
/// certificate records in the database and the CRL numbers of the CRLs it carries.
public struct BackupSummary: Sendable, Hashable {
    public var createdAt: Date
    public var sourceStateDirectory: String
    public var files: [BackupManifest.Entry]
    public var certificateCount: Int
    /// CRL number of `crl/intermediate.crl`, nil when the state had not published one yet.
    public var intermediateCRLNumber: CRLNumber?
    /// CRL number of `crl/root.crl`, nil when absent.
    public var rootCRLNumber: CRLNumber?
    /// True when the archive holds the (encrypted) intermediate key file.
    public var includesIntermediateKey: Bool
    public var includesConfiguration: Bool

    /// Computes the summary; `scratch` is a private directory where the database is opened.
    /// Refuses an archive that lacks an issuer its database names (``BackupCompleteness``).
    static func make(manifest: BackupManifest, files: [String: [UInt8]], scratch: String) throws -> BackupSummary {
        let database = (scratch as NSString).appendingPathComponent("summary.sqlite")
        try SecureFile.writeExclusive(files[BackupManifest.databasePath] ?? [], to: database, mode: 0o600)
        defer { unlink(database) }
        let count: Int
        do { count = try SQLiteStore.certificateCount(databaseAt: database) } catch {
            throw ApplianceError.backupRejected("the database in the archive cannot be read: \(error)")
        }
        try BackupCompleteness.check(manifest: manifest, files: files, database: database)
        return BackupSummary(
            createdAt: manifest.createdAt, sourceStateDirectory: manifest.sourceStateDirectory, files: manifest.files,
            certificateCount: count, intermediateCRLNumber: try crlNumber(files["crl/intermediate.crl"], "crl/intermediate.crl"),
            rootCRLNumber: try crlNumber(files["crl/root.crl"], "crl/root.crl"),
            includesIntermediateKey: files["ca/private/intermediate-ca.key"] != nil,
            includesConfiguration: files[BackupManifest.configurationPath] != nil)
    }

    static func crlNumber(_ der: [UInt8]?, _ path: String) throws -> CRLNumber? {
        guard let der else { return nil }
        do { return try CertificateRevocationList(derEncoded: der).tbsCertList.crlNumber } catch {
            throw ApplianceError.backupRejected("\(path) in the archive is not a DER CRL")
        }
    }

    /// Lines for people (`backup create|verify|restore` print them).
    public var lines: [String] {
        var lines = files.map { "  \($0.path)  \($0.size) bytes  sha256 \($0.sha256)" }
        lines.insert(
            "created \(ISO8601DateFormatter().string(from: createdAt)) from \(sourceStateDirectory); \(counted(files.count, "file")):", at: 0)
        lines.append("certificates in database: \(certificateCount)")
        lines.append("intermediate CRL number: \(intermediateCRLNumber.map { "\($0)" } ?? "none")")
        lines.append("root CRL number: \(rootCRLNumber.map { "\($0)" } ?? "none")")
        lines.append(
            includesIntermediateKey
                ? "intermediate key: encrypted PKCS#8 file included (its own passphrase is still needed to serve)"
                : "intermediate key: not included (PKCS#11 token or not yet created)")
        lines.append("configuration: \(includesConfiguration ? "included" : "not included")")
        return lines
    }
}
