import Crypto
import Foundation
import PKCS11
import PKICore
import SecureFiles
import X509

/// The CRL ceremony (docs/ceremony.md#crl-ceremony): record the plan's revocations in the root database and issue the
/// root CRL — number strictly greater than any before, revocations carried forward, nextUpdate at
/// most 12 months ahead, linted before signing and verified after.
///
/// The first CRL goes to `<media>/crl/`; later ones to `<media>/crl-<number>/`, since outputs
/// are never overwritten and the number tells them apart.
struct CRLCeremony {
    let plan: CRLCeremonyPlan
    let context: CeremonyContext

    func run() async throws -> [String] {
        let console = context.console
        let databaseStore = RootDatabaseStore(media: context.media)
        var database = try databaseStore.load(expectedSHA256: try context.recordedRootDatabaseHash())
        let root = try RootMaterial.load(context: context, pinned: plan.rootKey, database: database, planKey: "crl.root-key")

        let now = context.clock.now()
        for entry in plan.revoke ?? [] {
            guard let issued = database.issued(serial: entry.serial) else {
                throw CeremonyError.refused("serial \(entry.serial) was never issued by this root; nothing is revoked")
            }
            guard let reason = RevocationReason(name: entry.reason) else {
                throw CeremonyError.plan(
                    "crl.revoke: '\(entry.reason)' is not an RFC 5280 reason name (keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, certificateHold, privilegeWithdrawn, aACompromise)"
                )
            }
            if database.isRevoked(serial: entry.serial) {
                console.show("serial \(issued.serial) is already revoked; carried forward")
                continue
            }
            let invalidity = entry.invalidityDate.flatMap { ISO8601DateFormatter().date(from: $0) }
            database.revoked.append(RootDatabase.Revoked(serial: issued.serial, reason: reason.name, revokedAt: now, invalidityDate: invalidity))
            console.show("revoking \(issued.subject) (serial \(issued.serial)): \(reason.name)")
        }

        let number = database.nextCRLNumber
        // The token's anchor, not the media, says which numbers are used (RFC 5280 §5.2.3).
        if let anchored = context.anchor?.lastCRLNumber, number <= anchored {
            throw CeremonyError.rootDatabase(
                "root CRL number \(number) would not be higher than \(anchored), the last one the token's anchor records; nothing was signed")
        }
        // thisUpdate never goes back before the previous CRL's, even if the clock has stepped back.
        var thisUpdate = now
        if let last = database.lastCRLThisUpdate, thisUpdate <= last { thisUpdate = last.addingTimeInterval(1) }
        let nextUpdate = thisUpdate.addingTimeInterval(TimeInterval(plan.nextUpdateDays ?? 180) * 86_400)
        let entries = try database.revoked.map { revoked -> RevokedCertificate in
            guard let serial = Hex.decode(revoked.serial, typed: true), let reason = RevocationReason(name: revoked.reason) else {
                throw CeremonyError.rootDatabase("revocation entry \(revoked.serial) in the root database is malformed")
            }
            return try RevokedCertificate(
                serialNumber: Certificate.SerialNumber(bytes: serial), revocationDate: revoked.revokedAt, reason: reason,
                invalidityDate: revoked.invalidityDate)
        }
        let tbs = try TBSCertList(
            issuerCertificate: root.certificate, thisUpdate: thisUpdate, nextUpdate: nextUpdate, revokedCertificates: entries,
            crlNumber: CRLNumber(UInt64(number)))
        try context.transcript.append(
            actor: context.officer, event: "crl.approved",
            details: ["number": String(number), "entries": String(entries.count), "next-update": ISO8601DateFormatter().string(from: nextUpdate)])
        let signer = try CRLSigner(issuerCertificate: root.certificate, privateKey: Certificate.PrivateKey(root.key))
        let crl = try await signer.sign(tbs, previousCRLNumber: database.lastCRLNumber.map { CRLNumber(UInt64($0)) })

        let outputName = FileManager.default.fileExists(atPath: context.path("crl")) ? "crl-\(number)" : "crl"
        let bundle = try MediaBundle(
            payload: ["root.crl": crl.derEncoded, "root.crl.pem": Array(crl.pemEncoded.utf8)],
            summary: """
                Rootkeeper root CRL
                issuer: \(root.certificate.subject)
                CRL number: \(number)
                this update: \(crl.thisUpdate)
                next update: \(crl.nextUpdate)
                revoked certificates: \(crl.entryCount)

                """)
        try BundleDirectory.write(bundle, to: context.path(outputName))

        database.lastCRLNumber = number
        database.lastCRLThisUpdate = crl.thisUpdate
        database.crlDue = crl.nextUpdate
        try databaseStore.save(database)
        var outputs = context.hashes(of: bundle, in: outputName)
        outputs[RootCeremony.rootDatabaseOutput] = try database.sha256()
        try context.transcript.append(
            actor: context.tool, event: "crl.signed", outputs: outputs, token: context.token.identity,
            details: ["number": String(number), "entries": String(crl.entryCount)])
        console.show("root CRL number \(number) with \(crl.entryCount) entries written to \(context.path(outputName)); next update \(crl.nextUpdate)")
        return outputs.keys.sorted()
    }
}
