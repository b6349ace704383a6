import Foundation

/// Where the ceremony runs: which PKCS#11 module, which token, how the PIN is obtained, who
/// operates (docs/ceremony.md#environment). Recorded in the transcript but not hashed into the plan. Whether a
/// ceremony is a rehearsal is the plan's to say, not the environment's.
public struct CeremonyEnvironment: Codable, Sendable, Equatable {
    public static let defaultModule = "/usr/lib/softhsm/libsofthsm2.so"

    /// Path of the PKCS#11 module.
    public var module: String?
    /// Token label, serial, or RFC 7512 `pkcs11:` URI.
    public var token: String?
    /// `prompt`, `fd:N` or `file:/path` (the file must be 0600).
    public var pinSource: String?
    /// The officer operating the tool, recorded in the transcript.
    public var `operator`: String?
    /// An assertion, not a switch: when set it must equal the plan's `rehearsal` (the plan is
    /// what witnesses reviewed and hashed), so a rehearsal environment cannot run a live plan.
    public var rehearsal: Bool?
    /// For smart-card tokens: the PC/SC reader the officer's card goes into. When set, the
    /// ceremony asks for the card and waits for it (PC/SC) before looking for the token.
    public var cardReader: String?

    enum CodingKeys: String, CodingKey {
        case module, token, `operator`, rehearsal
        case pinSource = "pin-source"
        case cardReader = "card-reader"
    }

    public init(
        module: String? = nil, token: String? = nil, pinSource: String? = nil,
        operator: String? = nil, rehearsal: Bool? = nil, cardReader: String? = nil
    ) {
        self.module = module
        self.token = token
        self.pinSource = pinSource
        self.operator = `operator`
        self.rehearsal = rehearsal
        self.cardReader = cardReader
    }

    /// Loads `ENV.yaml` strictly (unknown and duplicate keys are errors naming the key).
    public static func load(text: String, document: String = "environment") throws -> CeremonyEnvironment {
        let env = try StrictYAML.decode(CeremonyEnvironment.self, from: text, document: document)
        if let source = env.pinSource { _ = try PINSource(parsing: source) }
        return env
    }

    /// This environment with every non-nil value of `overrides` (the command-line flags) applied.
    public func overridden(by overrides: CeremonyEnvironment) -> CeremonyEnvironment {
        CeremonyEnvironment(
            module: overrides.module ?? module,
            token: overrides.token ?? token,
            pinSource: overrides.pinSource ?? pinSource,
            operator: overrides.operator ?? `operator`,
            rehearsal: overrides.rehearsal ?? rehearsal,
            cardReader: overrides.cardReader ?? cardReader)
    }

    /// The module path, defaulting to SoftHSM2.
    public var modulePath: String { module ?? Self.defaultModule }
}
