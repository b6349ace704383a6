import Crypto
import Foundation
import PKICore
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// `ceremony recover`: rebuilds a lost or refused root database from what the root signed
/// (docs/root-database.md, Runbooks/root-crl-reissue.md "Recovering the root database").
///
/// Never a silent fresh start: the officer confirms the clock, logs in to the token (which must
/// hold the key the paper log pins), the witnesses type the last root CRL number from the paper
/// log, and everything is recorded in a new transcript. The database is rebuilt from the newest
/// root CRL on the media (its revocations and number) and the certificates on the media that
/// the root signed, each verified with the root certificate's key. If the token's anchor records a
/// later CRL than any on the media, recovery is refused: that CRL's revocations would be lost.
/// The previous transcript and database, if any, are kept beside the new ones, never deleted.
public struct RootDatabaseRecovery: Sendable {
    public var media: String
    public var environment: CeremonyEnvironment
    /// The root from the paper log of the root ceremony: its SPKI SHA-256, certificate SHA-256 or
    /// agent pin (``TrustAnchorIdentity``).
    public var rootSPKISHA256: String
    public var console: any CeremonyConsole
    public var clock: any PKIClock

    public init(
        media: String, environment: CeremonyEnvironment, rootSPKISHA256: String, console: any CeremonyConsole = StandardConsole(),
        clock: any PKIClock = SystemClock()
    ) {
        self.media = media
        self.environment = environment
        self.rootSPKISHA256 = rootSPKISHA256
        self.console = console
        self.clock = clock
    }

    func path(_ name: String) -> String { (media as NSString).appendingPathComponent(name) }

    /// Runs the recovery; returns the new transcript's head.
    public func run() throws -> String {
        let identity: TrustAnchorIdentity
        do {
            identity = try TrustAnchorIdentity(parsing: self.rootSPKISHA256, source: "--root-spki, from the paper log of the root ceremony")
        } catch let error as PKIError {
            throw CeremonyError.refused(error.reason)
        }
        console.show("ceremony: RECOVERY of the root database on \(media)")
        let formatter = ISO8601DateFormatter()
        let now = clock.now()
        guard console.ask("The clock reads \(formatter.string(from: now)) UTC. Type 'yes' if that is correct:") == "yes" else {
            throw CeremonyError.refused("the clock was not confirmed; set it from a trusted source and start again")
        }
        let root = try RootArtefacts.rootCertificate(media: media)
        guard identity.match(root) != nil else {
            throw CeremonyError.refused(identity.mismatch("the root certificate on the media (root/)") + "; nothing was changed")
        }
        // From here on the root is the paper log's: its key is named by its SPKI SHA-256.
        let rootSPKISHA256 = root.publicKey.spkiSHA256Hex

        // Everything that needs no writing first, so a refusal leaves the media as it was.
        let token = try TokenConnection.open(environment: environment, console: console)
        defer { try? token.session.logout() }
        let keyLabel: String
        do {
            keyLabel = try token.session.privateKey(spkiSHA256: Hex.decode(rootSPKISHA256, typed: true) ?? []).label
        } catch {
            throw CeremonyError(.token, "the token does not hold the root key \(rootSPKISHA256): \(ErrorText.of(error))")
        }
        let anchors = RootAnchorStore(session: token.session)
        let anchor = try anchors.load()
        if let anchor, anchor.rootSPKISHA256 != rootSPKISHA256 {
            throw CeremonyError.refused("the token's anchor belongs to root key \(anchor.rootSPKISHA256), not \(rootSPKISHA256)")
        }
        let artefacts = RootArtefacts.scan(media: media, root: root)
        let newest = artefacts.newestCRL
        let newestNumber = newest?.number ?? 0
        if let anchor, anchor.lastCRLNumber > newestNumber {
            throw CeremonyError.refused(
                "the token's anchor records root CRL number \(anchor.lastCRLNumber), but the newest root CRL on the media is "
                    + "\(newest.map { "number \($0.number) (\($0.path))" } ?? "none"): rebuilding from it would drop the revocations of CRL "
                    + "\(anchor.lastCRLNumber). Copy root CRL \(anchor.lastCRLNumber) onto the media (from a copy of the media, or the "
                    + "appliance's /crl/root.crl, e.g. as <media>/recovered-crl/root.crl) and run the recovery again; nothing was written")
        }

        console.show("")
        console.show("=== root database to rebuild ===")
        console.show("root:              \(root.subject) (key \(rootSPKISHA256), in token as \"\(keyLabel)\")")
        if let newest {
            console.show(
                "newest root CRL:   number \(newest.number), \(newest.crl.tbsCertList.revokedCertificates.count) entries, this update \(newest.crl.tbsCertList.thisUpdate) (\(newest.path))"
            )
        } else {
            console.show("newest root CRL:   none on the media")
        }
        for revoked in newest?.crl.tbsCertList.revokedCertificates ?? [] {
            console.show("revoked:           serial \(Array(revoked.serialNumber.bytes).hexString) (\(revoked.reason?.name ?? "unspecified"))")
        }
        for found in artefacts.certificates {
            console.show("issued:            \(found.certificate.subject), serial \(found.serialHex) (\(found.path))")
        }
        console.show("token anchor:      \(anchor.map { "last root CRL \($0.lastCRLNumber), \($0.transcriptEntries) transcript entries" } ?? "none")")
        let typed = console.ask("Witnesses: type the number of the last root CRL in the paper log (0 if none was issued):")?
            .trimmingCharacters(in: .whitespaces)
        guard typed == String(newestNumber) else {
            throw CeremonyError.refused(
                "the paper log's last root CRL (\(typed ?? "nothing typed")) is not the newest on the media (\(newestNumber)); "
                    + "bring the media holding the paper log's CRL; nothing was written")
        }

        let database = try rebuild(root: root, keyLabel: keyLabel, artefacts: artefacts)
        // Keep what was there: the refused transcript and database are evidence.
        let keptTranscript = try keepAside("transcript.jsonl", as: "transcript-before-recovery", extension: "jsonl")
        let keptDatabase = try keepAside("root-db/root-db.json", as: "root-db/root-db-before-recovery", extension: "json")

        let transcript = try Transcript(path: path("transcript.jsonl"), clock: clock)
        let officer = TranscriptEntry.Actor(role: "officer", name: environment.operator ?? "unnamed operator")
        let tool = TranscriptEntry.Actor(role: "tool", name: "ceremony")
        var inputs = ["root/root-ca.der": Array(SHA256.hash(data: try PEMCodec.der(root))).hexString]
        if let newest { inputs[newest.path] = Array(SHA256.hash(data: newest.crl.derEncoded)).hexString }
        var details = [
            "clock-confirmed": formatter.string(from: now), "paper-log-crl-number": String(newestNumber),
            "anchor": anchor.map { "last-crl \($0.lastCRLNumber), head \($0.transcriptHead), entries \($0.transcriptEntries)" } ?? "none",
            "issued": artefacts.certificates.map(\.serialHex).joined(separator: " "),
        ]
        if let keptTranscript { details["previous-transcript"] = keptTranscript }
        if let keptDatabase { details["previous-database"] = keptDatabase }
        try transcript.append(actor: officer, event: "recovery.start", inputs: inputs, token: token.identity, details: details)
        do {
            let store = RootDatabaseStore(media: media)
            try store.create(database)
            try transcript.append(
                actor: tool, event: "database.recovered", outputs: [RootCeremony.rootDatabaseOutput: try database.sha256()],
                token: token.identity,
                details: [
                    "last-crl-number": String(newestNumber), "revoked": String(database.revoked.count), "issued": String(database.issued.count),
                ])
            try transcript.append(actor: officer, event: "ceremony.end", details: ["outputs": RootCeremony.rootDatabaseOutput])
            try anchors.write(try RootAnchor.current(media: media, transcript: transcript, at: clock.now()))
        } catch {
            _ = try? transcript.append(actor: tool, event: "ceremony.aborted", details: ["reason": "\(ErrorText.of(error))"])
            throw error
        }
        let head = Transcript.announce(head: transcript.head)
        console.show("")
        console.show("root database rebuilt: last root CRL \(newestNumber), \(database.revoked.count) revoked, \(database.issued.count) issued")
        console.show("Transcript head (witnesses: read aloud and write down):")
        console.show("  \(head.hex)")
        console.show("  \(head.words)")
        return transcript.head
    }

    /// The database as the root's signed artefacts describe it.
    func rebuild(root: Certificate, keyLabel: String, artefacts: RootArtefacts) throws -> RootDatabase {
        let rootDER = try PEMCodec.der(root)
        var database = RootDatabase(
            root: RootDatabase.Root(
                subject: "\(root.subject)", keyLabel: keyLabel, spkiSHA256: rootSPKISHA256,
                certificateSHA256: Array(SHA256.hash(data: rootDER)).hexString, notBefore: root.notValidBefore, notAfter: root.notValidAfter))
        for found in artefacts.certificates {
            let der = try PEMCodec.der(found.certificate)
            database.issued.append(
                RootDatabase.Issued(
                    serial: found.serialHex, subject: "\(found.certificate.subject)", spkiSHA256: found.certificate.publicKey.spkiSHA256Hex,
                    certificateSHA256: Array(SHA256.hash(data: der)).hexString, notBefore: found.certificate.notValidBefore,
                    notAfter: found.certificate.notValidAfter, issuedAt: found.certificate.notValidBefore))
        }
        if let newest = artefacts.newestCRL {
            let tbs = newest.crl.tbsCertList
            database.revoked = tbs.revokedCertificates.map {
                RootDatabase.Revoked(
                    serial: Array($0.serialNumber.bytes).hexString, reason: ($0.reason ?? .unspecified).name, revokedAt: $0.revocationDate,
                    invalidityDate: $0.invalidityDate)
            }
            database.lastCRLNumber = newest.number
            database.lastCRLThisUpdate = tbs.thisUpdate
            database.crlDue = tbs.nextUpdate
        }
        return database
    }

    /// Renames `name` (relative to the media) to the first free `<prefix>-<n>.<extension>`; returns
    /// the new name, or nil if there was nothing to keep.
    func keepAside(_ name: String, as prefix: String, extension ext: String) throws -> String? {
        guard FileManager.default.fileExists(atPath: path(name)) else { return nil }
        var index = 1
        while FileManager.default.fileExists(atPath: path("\(prefix)-\(index).\(ext)")) { index += 1 }
        let kept = "\(prefix)-\(index).\(ext)"
        guard rename(path(name), path(kept)) == 0 else {
            throw CeremonyError.media("cannot keep \(path(name)) aside as \(path(kept)): \(String(cString: strerror(errno)))")
        }
        return kept
    }
}
