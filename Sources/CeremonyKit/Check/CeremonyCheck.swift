import Crypto
import Foundation
import PKCS11
import PKICore
import SecureFiles
import X509

#if canImport(Glibc)
    import Glibc
#endif

/// `ceremony check PLAN --env ENV` (and `run --dry-run`): everything `run` validates before the
/// token is opened (docs/ceremony.md#check), so officers can check a plan the day before.
///
/// It never loads the PKCS#11 module, never reads the PIN and never writes to the media: the
/// module path and the PIN source are only parsed. `ceremony run` starts with this same check
/// (``CeremonyRunner``), so a plan that passes it fails later only for what needs the token: the
/// token itself, its anchor, the PIN, the typed confirmations. Refusals name the plan key or the
/// file, and what to do.
public struct CeremonyCheck: Sendable {
    public var planText: String
    /// Where the plan came from, for messages.
    public var planDocument: String
    public var environment: CeremonyEnvironment
    public var media: String
    public var clock: any PKIClock
    /// `--yes-i-have-checked`, refused for production plans.
    public var preconfirmedSPKI: String?

    public init(
        planText: String, planDocument: String = "plan", environment: CeremonyEnvironment, media: String,
        clock: any PKIClock = SystemClock(), preconfirmedSPKI: String? = nil
    ) {
        self.planText = planText
        self.planDocument = planDocument
        self.environment = environment
        self.media = media
        self.clock = clock
        self.preconfirmedSPKI = preconfirmedSPKI
    }

    /// A plan that passed the check.
    public struct Checked: Sendable {
        public let plan: CeremonyPlan
        /// SHA-256 of the plan text, lower-case hex (what witnesses write down).
        public let planSHA256: String
        /// One line per check made, for the officer.
        public let lines: [String]
    }

    /// Runs every check, in the order `run` needs them; the first failure throws.
    public func run() throws -> Checked {
        var lines: [String] = []
        let plan = try CeremonyPlan.load(text: planText, document: planDocument)
        let planSHA256 = Hex.encode(SHA256.hash(data: Data(planText.utf8)))
        lines.append("plan: \(plan.ceremony.rawValue) ceremony\(plan.isRehearsal ? " (REHEARSAL)" : ""), keys and values valid")

        // Rehearsal or not is decided by the reviewed, hashed plan alone; an environment file or
        // flag that says otherwise is a mix-up (a rehearsal env on the live plan, or the reverse).
        if let stated = environment.rehearsal, stated != plan.isRehearsal {
            throw CeremonyError.refused(
                "the environment (or --rehearsal) says rehearsal: \(stated) but the plan says rehearsal: \(plan.isRehearsal); "
                    + "the plan decides (it is reviewed and hashed): use a plan made with `ceremony template\(stated ? " --rehearsal" : "")`")
        }
        if preconfirmedSPKI != nil, !plan.isRehearsal {
            throw CeremonyError.refused("--yes-i-have-checked is for scripted rehearsals only; a live ceremony asks the officer to type")
        }
        lines += try checkEnvironment()
        lines += try checkMedia()

        let transcriptPath = (media as NSString).appendingPathComponent("transcript.jsonl")
        let transcript = try Transcript.verify(path: transcriptPath)
        lines.append(transcript.count == 0 ? "transcript: none yet" : "transcript: \(transcript.count) entries verify")

        switch plan.details {
        case .root(let root): lines += try checkRoot(root)
        case .intermediate(let intermediate):
            try requireTranscript(transcript, path: transcriptPath)
            lines += try checkIntermediate(intermediate, rehearsal: plan.isRehearsal)
        case .crl(let crl):
            try requireTranscript(transcript, path: transcriptPath)
            lines += try checkCRL(crl)
        }
        return Checked(plan: plan, planSHA256: planSHA256, lines: lines)
    }

    /// The environment as far as it can be checked without the token: a token is named and the
    /// PIN source is well formed. The module is not loaded.
    func checkEnvironment() throws -> [String] {
        guard let token = environment.token, !token.isEmpty else {
            throw CeremonyError.environment("no token given: set 'token' in the environment file or pass --token (label, serial or pkcs11: URI)")
        }
        do {
            _ = try TokenSelector(parsing: token)
        } catch {
            throw CeremonyError.environment("token '\(token)' is not a label, serial or pkcs11: URI: \(ErrorText.of(error))")
        }
        let source = try PINSource(parsing: environment.pinSource ?? "prompt")
        try source.checkWithoutReading()
        return [
            "environment: token \(token), PIN from \(source)",
            "  module \(environment.modulePath) (not loaded by the check; `ceremony preflight` and `run` load it)",
        ]
    }

    /// The media exists and this user may write to it, asked with access(2): nothing is created.
    func checkMedia() throws -> [String] {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: media, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CeremonyError.media("media directory \(media) does not exist: mount the ceremony media and give its directory with --media")
        }
        guard access(media, W_OK) == 0 else {
            throw CeremonyError.media(
                "media directory \(media) is not writable (\(String(cString: strerror(errno)))): remount it read-write or check its owner")
        }
        return ["media: \(media) is writable"]
    }

    /// A ceremony after the root continues a record: a media with a root but no transcript is refused.
    func requireTranscript(_ transcript: Transcript.State, path: String) throws {
        guard transcript.count == 0 else { return }
        let database = RootDatabaseStore(media: media)
        if database.exists || FileManager.default.fileExists(atPath: mediaPath(RootCeremony.bundleDirectory)) {
            throw CeremonyError.transcript(
                "no transcript on the media (\(path)), but the media holds a root\(database.exists ? " database" : " bundle"): "
                    + "the transcript was deleted or this is not the media of record. Restore transcript.jsonl from a copy of the media "
                    + "whose head matches the paper log; nothing was signed")
        }
    }

    func checkRoot(_ root: RootCeremonyPlan) throws -> [String] {
        let bundlePath = mediaPath(RootCeremony.bundleDirectory)
        guard !FileManager.default.fileExists(atPath: bundlePath) else {
            throw CeremonyError.media("\(bundlePath) already exists; a root ceremony needs fresh media")
        }
        let databaseStore = RootDatabaseStore(media: media)
        guard !databaseStore.exists else { throw CeremonyError.media("\(databaseStore.path) already exists; a root ceremony needs fresh media") }
        let profile = try RootCeremony.profile(for: root, now: clock.now())
        let period = try profile.validity(
            now: clock.now(), issuer: IssuerSummary(name: profile.subject, keyIdentifier: nil, notValidBefore: nil, notValidAfter: nil))
        return [
            "root: subject \(profile.subject), key \(root.key.algorithm ?? "rsa4096") \"\(root.key.label)\" (ID \(root.key.id))",
            "  validity if signed now: \(Self.day(period.notBefore)) – \(Self.day(period.notAfter)) (UTC)",
            "  the token must not hold a key labelled \"\(root.key.label)\" or with ID \(root.key.id) (checked by `run` after login)",
        ]
    }

    func checkIntermediate(_ plan: IntermediateCeremonyPlan, rehearsal: Bool) throws -> [String] {
        let outputName = plan.outputBundle ?? "intermediate-cert"
        guard !FileManager.default.fileExists(atPath: mediaPath(outputName)) else {
            throw CeremonyError.media("\(mediaPath(outputName)) already exists; outputs are never overwritten (set intermediate.output-bundle)")
        }
        let database = try loadDatabase()
        let root = try RootMaterial.certificate(media: media, pinned: plan.rootKey, database: database, planKey: "intermediate.root-key")
        let csrBundleName = plan.csrBundle ?? "intermediate-csr"
        let bundle: MediaBundle
        do {
            bundle = try BundleDirectory.read(from: mediaPath(csrBundleName))
        } catch {
            throw CeremonyError.media(
                "the CSR bundle \(mediaPath(csrBundleName)) is refused: \(ErrorText.of(error)); ask the appliance operator for a new bundle (`appliance intermediate csr`)"
            )
        }
        guard let csrBytes = bundle.file(IntermediateCeremony.csrFile) else {
            throw CeremonyError.media("the CSR bundle \(mediaPath(csrBundleName)) has no \(IntermediateCeremony.csrFile)")
        }
        let review: CSRReview
        switch try CSRPolicy(purpose: .intermediateCA).evaluate(csrBytes) {
        case .reject(let reason): throw CeremonyError.refused("the intermediate CSR is refused: \(reason)")
        case .accept(let accepted): review = accepted
        }
        if plan.expectedSPKISHA256 != nil {
            try IntermediateCeremony.checkExpectedKey(plan, csrKeySPKISHA256: review.csr.publicKey.spkiSHA256)
        } else if !rehearsal {
            throw CeremonyError.plan("intermediate.expected-spki-sha256 is required outside a rehearsal")
        }
        let profile = try IntermediateCeremony.profile(for: plan, subject: review.csr.subject)
        let issuer = IssuerSummary(name: root.subject, keyIdentifier: nil, notValidBefore: root.notValidBefore, notValidAfter: root.notValidAfter)
        let period: ValidityPeriod
        do {
            period = try profile.validity(now: clock.now(), issuer: issuer)
        } catch let error as PKIError {
            throw CeremonyError.refused("the intermediate cannot be signed under this root: \(error.reason)")
        }
        return [
            "root: \(root.subject) matches the plan's intermediate.root-key and the root database",
            "CSR bundle \(csrBundleName): MANIFEST verified, signature valid, \(review.keyAlgorithm)"
                + (plan.expectedSPKISHA256 != nil ? ", key matches intermediate.expected-spki-sha256" : " (rehearsal: no expected-spki-sha256)"),
            "  subject \(review.csr.subject)",
            "  validity if signed now: \(Self.day(period.notBefore)) – \(Self.day(period.notAfter)) (UTC, never beyond the root's)",
        ]
    }

    func checkCRL(_ plan: CRLCeremonyPlan) throws -> [String] {
        let database = try loadDatabase()
        let root = try RootMaterial.certificate(media: media, pinned: plan.rootKey, database: database, planKey: "crl.root-key")
        var lines = ["root: \(root.subject) matches the plan's crl.root-key and the root database"]
        for entry in plan.revoke ?? [] {
            guard let issued = database.issued(serial: entry.serial) else {
                throw CeremonyError.refused(
                    "crl.revoke: serial \(entry.serial) was never issued by this root; nothing is revoked: copy the serial from `ceremony inspect` of the intermediate certificate"
                )
            }
            lines.append(
                "  revoke \(issued.subject) (serial \(issued.serial)): \(entry.reason)\(database.isRevoked(serial: entry.serial) ? " (already revoked: carried forward)" : "")"
            )
        }
        lines.append("CRL: number \(database.nextCRLNumber), next update in \(plan.nextUpdateDays ?? 180) days")
        return lines
    }

    /// The media's root database, read as it is: whether it is the one the token's anchor
    /// records is checked by `run` after login (``RootDatabaseCheck``).
    func loadDatabase() throws -> RootDatabase {
        let store = RootDatabaseStore(media: media)
        guard store.exists || !FileManager.default.fileExists(atPath: mediaPath(RootCeremony.bundleDirectory)) else {
            throw CeremonyError.rootDatabase(
                "no root database at \(store.path), but the media holds a root: restore root-db/ from a copy of the media; "
                    + RootDatabaseCheck.recoverHint)
        }
        return try store.load()
    }

    func mediaPath(_ name: String) -> String { (media as NSString).appendingPathComponent(name) }

    static func day(_ date: Date) -> String {
        let format = ISO8601DateFormatter()
        format.formatOptions = [.withFullDate]
        return format.string(from: date)
    }
}
