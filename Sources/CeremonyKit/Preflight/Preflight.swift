import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Everything `ceremony preflight` checks before officers start (docs/ceremony.md#air-gap-preflight, issue 7): the air
/// gap, the clock (shown for people to confirm against a trusted watch), the token and the media.
public struct Preflight: Sendable {
    /// The outcome, as lines for people and a verdict.
    public struct Report: Sendable {
        public var lines: [String]
        public var airGap: AirGapCheck.Report
        public var failures: [String]

        /// Passed: no failure, and air-gapped unless this is a rehearsal.
        public func passed(rehearsal: Bool) -> Bool {
            failures.isEmpty && (rehearsal || airGap.isAirGapped)
        }

        public var blockingSummary: String {
            (failures + airGap.findings.filter(\.blocking).map(\.message)).joined(separator: "; ")
        }
    }

    public var module: String?
    public var token: String?
    public var media: String?
    public var probe: any SystemProbe
    public var tokens: (any TokenInventory)?
    public var now: @Sendable () -> Date

    public init(
        module: String?, token: String?, media: String?, probe: any SystemProbe = LinuxSystemProbe(),
        tokens: (any TokenInventory)? = nil, now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.module = module
        self.token = token
        self.media = media
        self.probe = probe
        self.tokens = tokens
        self.now = now
    }

    public func run() -> Report {
        var lines: [String] = []
        var failures: [String] = []

        let airGap = AirGapCheck(probe: probe).run()
        lines.append(airGap.isAirGapped ? "air gap: no interface up, no default route, no radio" : "air gap: NOT air-gapped")
        lines += airGap.findings.map { "  \($0)" }

        let formatter = ISO8601DateFormatter()
        lines.append("clock: \(formatter.string(from: now())) (UTC) — compare with a trusted time source")

        if let module {
            if let tokens {
                do {
                    let found = try tokens.describeTokens(module: module)
                    lines.append("module: \(module)")
                    lines += found.map { "  token: \($0)" }
                    if let token, try tokens.findToken(module: module, selector: token) == nil {
                        failures.append("token '\(token)' not found in \(module)")
                    }
                } catch {
                    failures.append("cannot use PKCS#11 module \(module): \(ErrorText.of(error))")
                }
            } else if !FileManager.default.isReadableFile(atPath: module) {
                failures.append("PKCS#11 module \(module) not found")
            }
        }

        if let media {
            var isDirectory: ObjCBool = false
            if !FileManager.default.fileExists(atPath: media, isDirectory: &isDirectory) || !isDirectory.boolValue {
                failures.append("media directory \(media) does not exist")
            } else if access(media, W_OK) != 0 {
                failures.append("media directory \(media) is not writable")
            } else {
                lines.append("media: \(media) is writable")
            }
        }
        lines += failures.map { "FAIL: \($0)" }
        return Report(lines: lines, airGap: airGap, failures: failures)
    }
}

/// What preflight and `devices` need from the PKCS#11 layer, so CeremonyKit's decisions can be
/// tested without a token.
public protocol TokenInventory: Sendable {
    /// One line per token: label, serial, model, and whether it can generate RSA-4096 / P-384.
    func describeTokens(module: String) throws -> [String]
    /// The description of the token that `selector` (label, serial or pkcs11: URI) picks, or nil.
    func findToken(module: String, selector: String) throws -> String?
}
