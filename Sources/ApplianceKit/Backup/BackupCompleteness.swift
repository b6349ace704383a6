import CAStore
import Foundation
import PKICore
import X509

/// Checks that an archive holds every issuer its database names, so a restored state can serve
/// every certificate it knows (docs/lifecycle.md#intermediate-renewal, renewal with overlap): for each issuer SKI in the
/// certificates or revocations of the database, the archive has its certificate — as the current
/// intermediate, a retiring one (`ca/issuers/<ski>/`, with its key when the keys are file-backed)
/// or a retired one (`ca/retired/<ski>/`). Run by `backup create` (before anything is written),
/// `backup verify` and `backup restore` (before anything is restored).
enum BackupCompleteness {
    /// - Parameter database: a private copy of the archive's database.
    static func check(manifest: BackupManifest, files: [String: [UInt8]], database: String) throws {
        let referenced: Set<String>
        do { referenced = try SQLiteStore.issuerIDs(databaseAt: database) } catch {
            throw ApplianceError.backupRejected("the database in the archive cannot be read: \(error)")
        }
        var present: [String: String] = [:]
        let current = try certificate(files, "ca/intermediate-ca.crt")
        present[try IssuerRoster.ski(current)] = "ca/intermediate-ca.crt"
        for path in files.keys.sorted() {
            let components = path.split(separator: "/").map(String.init)
            guard components.count == 4, components[0] == "ca", ["issuers", "retired"].contains(components[1]),
                components[3] == "intermediate-ca.crt"
            else { continue }
            let ski = try IssuerRoster.ski(try certificate(files, path))
            guard ski == components[2] else {
                throw ApplianceError.backupRejected("\(path) holds the intermediate with SKI \(ski), not \(components[2])")
            }
            if components[1] == "issuers", manifest.intermediateKey == "file",
                files[StateDirectory.issuerKeyComponents(ski).joined(separator: "/")] == nil
            {
                throw ApplianceError.backupRejected(
                    "the retiring intermediate \(ski) has no key in the archive (\(StateDirectory.issuerKeyComponents(ski).joined(separator: "/"))); it could not sign its CRL or OCSP answers after a restore. Take the backup again with a current appliance"
                )
            }
            present[ski] = path
        }
        let missing = referenced.subtracting(present.keys).sorted()
        guard missing.isEmpty else {
            throw ApplianceError.backupRejected(
                "the database names issuer(s) \(missing.joined(separator: ", ")) whose certificate the archive does not hold (expected \(missing.map { StateDirectory.issuerCertificateComponents($0).joined(separator: "/") }.joined(separator: ", "))); their agents could not authenticate and their CRL and OCSP would disappear after a restore. Take the backup again with a current appliance"
            )
        }
    }

    static func certificate(_ files: [String: [UInt8]], _ path: String) throws -> Certificate {
        guard let bytes = files[path] else { throw ApplianceError.backupRejected("the archive has no \(path)") }
        do { return try PEMCodec.certificate(from: bytes) } catch {
            throw ApplianceError.backupRejected("\(path) in the archive is not a PEM certificate")
        }
    }
}
