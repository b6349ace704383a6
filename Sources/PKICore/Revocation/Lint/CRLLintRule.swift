import Foundation
import X509

/// What a CRL lint rule may compare against besides the CRL itself.
public struct CRLLintContext: Sendable {
    /// The certificate of the CA that signs the CRL.
    public let issuerCertificate: Certificate
    /// The cRLNumber of the last CRL issued for this scope, if any (the caller persists it).
    public let previousCRLNumber: CRLNumber?

    public init(issuerCertificate: Certificate, previousCRLNumber: CRLNumber?) {
        self.issuerCertificate = issuerCertificate
        self.previousCRLNumber = previousCRLNumber
    }
}

/// One CRL lint rule (docs/conventions.md#one-lint-rule-per-file: one rule per file, with its citation), modelled on boulder's
/// `linter/lints/cpcps/lint_crl_*.go`.
///
/// List-level checks run before anything is encoded; entry-level checks run on each entry as
/// the encoder writes it, so a streaming CRL of a million entries is checked in the same pass.
/// A rule returns a failure message (nil when it passes); ``CRLLinter`` turns it into a
/// `lintFailure` error naming the rule, and nothing is signed.
protocol CRLLintRule {
    /// Stable rule name, used in error messages and tests.
    static var name: String { get }
    /// The RFC section the rule enforces.
    static var citation: String { get }
    func checkList(_ tbs: TBSCertList, context: CRLLintContext) -> String?
    mutating func checkEntry(_ entry: RevokedCertificate) -> String?
}

extension CRLLintRule {
    func checkList(_ tbs: TBSCertList, context: CRLLintContext) -> String? { nil }
    mutating func checkEntry(_ entry: RevokedCertificate) -> String? { nil }
}

/// Runs every CRL lint rule; the first failure throws.
struct CRLLinter {
    /// The rule names, in the order they run.
    static let ruleNames: [String] = [
        CRLNumberIncreasesRule.name, CRLNextUpdateAfterThisUpdateRule.name, CRLAKIMatchesIssuerRule.name,
        CRLIssuerNameMatchesRule.name, CRLAcceptableReasonCodesRule.name, CRLUniqueSerialsRule.name,
    ]

    private var reasons = CRLAcceptableReasonCodesRule()
    private var unique: CRLUniqueSerialsRule

    init(expectedEntries: Int = 0) {
        unique = CRLUniqueSerialsRule(expectedEntries: expectedEntries)
    }

    func checkList(_ tbs: TBSCertList, context: CRLLintContext) throws {
        try Self.report(CRLNumberIncreasesRule.self, CRLNumberIncreasesRule().checkList(tbs, context: context))
        try Self.report(CRLNextUpdateAfterThisUpdateRule.self, CRLNextUpdateAfterThisUpdateRule().checkList(tbs, context: context))
        try Self.report(CRLAKIMatchesIssuerRule.self, CRLAKIMatchesIssuerRule().checkList(tbs, context: context))
        try Self.report(CRLIssuerNameMatchesRule.self, CRLIssuerNameMatchesRule().checkList(tbs, context: context))
    }

    @inline(__always)
    mutating func checkEntry(_ entry: RevokedCertificate) throws {
        try Self.report(CRLAcceptableReasonCodesRule.self, reasons.checkEntry(entry))
        try Self.report(CRLUniqueSerialsRule.self, unique.checkEntry(entry))
    }

    @inline(__always)
    private static func report<Rule: CRLLintRule>(_ rule: Rule.Type, _ failure: String?) throws {
        if let failure { throw PKIError.lint("\(Rule.name) (\(Rule.citation)): \(failure)") }
    }
}

extension Certificate.SerialNumber {
    /// Hex for messages.
    var revocationHex: String { bytes.map { String(format: "%02X", $0) }.joined() }
}
