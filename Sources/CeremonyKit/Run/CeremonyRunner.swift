import BuildInfo
import Crypto
import Foundation
import PKICore
import SmartCard

#if canImport(Glibc)
    import Glibc
#endif

/// Runs one ceremony from a plan (docs/ceremony.md): first the token-free checks of
/// ``CeremonyCheck`` (what `ceremony check` runs), then shows the plan's hash, checks the air gap and
/// the clock, opens the transcript, logs in to the token and hands over to the ceremony of the
/// plan's kind. Every step that matters after `ceremony.start` is recorded in the transcript; a
/// failure is recorded too, then rethrown, so the record shows aborted ceremonies as well as
/// completed ones (a plan refused by the check has not started and leaves the media as it was).
public struct CeremonyRunner: Sendable {
    public var planText: String
    public var environment: CeremonyEnvironment
    public var media: String
    public var console: any CeremonyConsole
    public var clock: any PKIClock
    public var random: any RandomSource
    public var probe: any SystemProbe
    /// `--yes-i-have-checked <SPKI-SHA256>`: accepted for rehearsals only, instead of typing.
    public var preconfirmedSPKI: String?
    /// PC/SC access for smart-card tokens (created only when the environment names a reader).
    public var cardReaders: @Sendable () throws -> any CardReaderMonitoring = { try PCSCContext() }
    /// The tool running the ceremony (version and the SHA-256 of its executable), recorded as a
    /// `tool.identity` entry right after `ceremony.start`; the `ceremony` binary always sets it.
    public var toolIdentity: ToolIdentity?
    /// The plan's file name, for messages.
    public var planDocument = "plan"

    public init(
        planText: String, environment: CeremonyEnvironment, media: String, console: any CeremonyConsole = StandardConsole(),
        clock: any PKIClock = SystemClock(), random: any RandomSource = SystemRandomSource(),
        probe: any SystemProbe = LinuxSystemProbe(), preconfirmedSPKI: String? = nil
    ) {
        self.planText = planText
        self.environment = environment
        self.media = media
        self.console = console
        self.clock = clock
        self.random = random
        self.probe = probe
        self.preconfirmedSPKI = preconfirmedSPKI
    }

    /// What a finished ceremony leaves for the people in the room.
    public struct Outcome: Sendable {
        /// The transcript head after the closing entry.
        public var transcriptHead: String
        /// Files written, relative to the media.
        public var outputs: [String]
    }

    /// The check `ceremony check` runs, with this runner's inputs: `run` starts with it.
    public var check: CeremonyCheck {
        CeremonyCheck(
            planText: planText, planDocument: planDocument, environment: environment, media: media, clock: clock,
            preconfirmedSPKI: preconfirmedSPKI)
    }

    public func run() async throws -> Outcome {
        // Everything that can be checked without the token, exactly as `ceremony check` does.
        let checked = try check.run()
        let plan = checked.plan
        let planSHA256 = checked.planSHA256
        let rehearsal = plan.isRehearsal
        console.show("ceremony: \(plan.ceremony.rawValue)\(rehearsal ? " (REHEARSAL)" : "")")
        if let purpose = plan.purpose { console.show("purpose: \(purpose)") }
        console.show("plan SHA-256: \(planSHA256)")
        console.show("  words: \(PGPWordList.words(for: Hex.decode(planSHA256, typed: true) ?? []).prefix(8).joined(separator: " "))")
        for line in checked.lines { console.show("check: \(line)") }

        try checkMediaWritable()

        let airGap = AirGapCheck(probe: probe)
        let report = airGap.run()
        for finding in report.findings { console.show("preflight: \(finding)") }
        try airGap.enforce(report, rehearsal: rehearsal)

        let formatter = ISO8601DateFormatter()
        let now = clock.now()
        guard console.ask("The clock reads \(formatter.string(from: now)) UTC. Type 'yes' if that is correct:") == "yes" else {
            throw CeremonyError.refused("the clock was not confirmed; set it from a trusted source and start again")
        }

        // The media must continue the record the paper log holds: checked before anything is
        // appended, so a refused start leaves the transcript as it was.
        let transcriptPath = mediaPath("transcript.jsonl")
        let previous = try Transcript.verify(path: transcriptPath)
        // (A media with a root but no transcript was refused by the check.)
        if plan.ceremony != .root, previous.count > 0 {
            try TranscriptHeadConfirmation(console: console).confirm(head: previous.head, entries: previous.count)
        }

        let transcript = try Transcript(path: transcriptPath, clock: clock)
        let officer = TranscriptEntry.Actor(role: "officer", name: environment.operator ?? "unnamed operator")
        let tool = TranscriptEntry.Actor(role: "tool", name: "ceremony")
        var startDetails = [
            "ceremony": plan.ceremony.rawValue, "rehearsal": String(rehearsal), "module": environment.modulePath,
            "token": environment.token ?? "", "clock-confirmed": formatter.string(from: now),
        ]
        if previous.count > 0 { startDetails["previous-head-confirmed"] = previous.head }
        if !report.isAirGapped { startDetails["air-gap"] = report.findings.filter(\.blocking).map(\.message).joined(separator: "; ") }
        try transcript.append(actor: officer, event: "ceremony.start", inputs: ["plan": planSHA256], details: startDetails)
        if let toolIdentity {
            try transcript.append(actor: tool, event: "tool.identity", inputs: ["executable": toolIdentity.sha256], details: toolIdentity.details)
        }

        do {
            if let reader = environment.cardReader {
                try await OfficerCard(reader: reader, monitor: try cardReaders(), console: console).waitUntilInserted()
            }
            let token = try TokenConnection.open(environment: environment, console: console)
            try transcript.append(actor: officer, event: "token.login", token: token.identity)
            let rootKind = try RootKindMarker.check(token.session, rehearsal: rehearsal)
            try transcript.append(
                actor: tool, event: "token.root-kind", token: token.identity,
                details: ["marker": rootKind?.rawValue ?? "none", "plan-rehearsal": String(rehearsal)])
            // Before anything is signed: the media must be what the token's anchor remembers.
            let anchors = RootAnchorStore(session: token.session)
            let anchor = try anchors.load()
            if plan.ceremony != .root {
                guard let anchor else {
                    throw CeremonyError.rootDatabase(
                        "the token \"\(token.session.token.label)\" holds no root anchor (private data object \(RootAnchor.label)), so the "
                            + "media cannot be checked: wrong token, or the anchor was lost. \(RootDatabaseCheck.recoverHint)")
                }
                _ = try RootDatabaseCheck(media: media, anchor: anchor).run(
                    transcript: try Transcript.verify(path: transcriptPath), root: try? RootArtefacts.rootCertificate(media: media))
                try transcript.append(
                    actor: tool, event: "anchor.checked", token: token.identity,
                    details: [
                        "database-sha256": anchor.databaseSHA256, "last-crl-number": String(anchor.lastCRLNumber),
                        "anchored-head": anchor.transcriptHead, "anchored-entries": String(anchor.transcriptEntries),
                    ])
                console.show("root database and transcript match the token's anchor (last root CRL \(anchor.lastCRLNumber))")
            }
            let context = CeremonyContext(
                media: media, console: console, clock: clock, random: random, transcript: transcript, officer: officer,
                tool: tool, token: token, rehearsal: rehearsal, preconfirmedSPKI: preconfirmedSPKI, anchor: anchor)
            let outputs: [String]
            switch plan.details {
            case .root(let root): outputs = try await RootCeremony(plan: root, context: context).run()
            case .intermediate(let intermediate): outputs = try await IntermediateCeremony(plan: intermediate, context: context).run()
            case .crl(let crl): outputs = try await CRLCeremony(plan: crl, context: context).run()
            }
            try transcript.append(actor: officer, event: "ceremony.end", details: ["outputs": outputs.joined(separator: " ")])
            // The anchor is written last, under the officer's login, over the closing head.
            try anchors.write(try RootAnchor.current(media: media, transcript: transcript, at: clock.now()))
            try? token.session.logout()
            announce(head: transcript.head, title: "Transcript head (witnesses: read aloud and write down):")
            return Outcome(transcriptHead: transcript.head, outputs: outputs)
        } catch {
            // Record the abort; if even that fails the original error is what the officer needs.
            if (try? transcript.append(actor: tool, event: "ceremony.aborted", details: ["reason": "\(ErrorText.of(error))"])) != nil {
                // The next ceremony starts from this head: the witnesses write it down too.
                announce(head: transcript.head, title: "Transcript head after the abort (witnesses: write it in the paper log):")
            }
            throw error
        }
    }

    func announce(head: String, title: String) {
        let announced = Transcript.announce(head: head)
        console.show("")
        console.show(title)
        console.show("  \(announced.hex)")
        console.show("  \(announced.words)")
    }

    func mediaPath(_ name: String) -> String { (media as NSString).appendingPathComponent(name) }

    /// The media must exist and accept a new file: probed with a real O_EXCL create, since
    /// permission bits say nothing for root and nothing about a read-only mount.
    func checkMediaWritable() throws {
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: media, isDirectory: &isDirectory), isDirectory.boolValue else {
            throw CeremonyError.media("media directory \(media) does not exist")
        }
        let probePath = mediaPath(".rootkeeper-write-test-\(getpid())")
        let fd = open(probePath, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
        guard fd >= 0 else {
            throw CeremonyError.media("media directory \(media) is not writable: \(String(cString: strerror(errno)))")
        }
        close(fd)
        unlink(probePath)
    }
}

/// What every ceremony kind shares once the token is open.
struct CeremonyContext {
    let media: String
    let console: any CeremonyConsole
    let clock: any PKIClock
    let random: any RandomSource
    let transcript: Transcript
    let officer: TranscriptEntry.Actor
    let tool: TranscriptEntry.Actor
    let token: TokenConnection
    let rehearsal: Bool
    let preconfirmedSPKI: String?
    /// The token's root anchor as checked at the start (nil only before the root ceremony).
    let anchor: RootAnchor?

    func path(_ name: String) -> String { (media as NSString).appendingPathComponent(name) }

    /// The SHA-256 of the root database that the token's anchor records (checked by the runner
    /// before the ceremony began), so the database a ceremony loads is the anchored one. Without
    /// an anchor (only before the root ceremony) there is no database to load.
    func recordedRootDatabaseHash() throws -> String? {
        guard let anchor else {
            throw CeremonyError.rootDatabase("the token holds no root anchor; the root database cannot be trusted")
        }
        return anchor.databaseSHA256
    }

    /// SHA-256 hex of each file of a bundle directory, keyed `dir/name`, for the transcript.
    func hashes(of bundle: MediaBundle, in directory: String) -> [String: String] {
        var result: [String: String] = [:]
        for (name, bytes) in bundle.files { result["\(directory)/\(name)"] = Array(SHA256.hash(data: bytes)).hexString }
        return result
    }
}
