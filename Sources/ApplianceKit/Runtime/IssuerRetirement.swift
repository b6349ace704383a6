import CAStore
import Foundation
import Logging
import PKICore
import Registration
import SecureFiles
import X509

/// Retires intermediates replaced by a renewal (docs/lifecycle.md#intermediate-renewal, renewal with overlap).
///
/// Rule: a retiring intermediate is retired once every certificate it issued has expired — all
/// statuses count, revoked ones too, since they stay on its CRL until they expire (RFC 5280
/// §3.3) — or once the intermediate itself has expired. Its own delegated OCSP responder
/// certificates do not count: it issues them only to answer for the others.
///
/// Retiring: the issuer leaves `cacerts`, `ca/ca-chain.crt` and the mTLS trust; its OCSP answers
/// stop (`unauthorized`); its CRL is no longer regenerated — the last one stays on disk as
/// `crl/issuer-<ski>.crl` (and in `crl/history/`) for the record but is no longer served;
/// `ca/issuers/<ski>/` moves to `ca/retired/<ski>/` and a file key in it is deleted (a token key
/// stays on the token for the operator to destroy, see Runbooks/intermediate-renewal.md); an
/// audit entry `intermediate.retired` records it.
public struct IssuerRetirement: Sendable {
    public let state: StateDirectory
    public let roster: IssuerRoster
    public let root: Certificate
    public let store: any IssuerActivityStore & AuditLog
    public let clock: any PKIClock
    public let logger: Logger
    /// Running parts to update; nil for the start-up pass, which runs before they exist.
    public let trust: ClientTrust?
    public let crlPublishers: IssuerCRLPublishers?
    public let ocsp: IssuerOCSPResponders?

    public init(
        state: StateDirectory, roster: IssuerRoster, root: Certificate, store: any IssuerActivityStore & AuditLog,
        clock: any PKIClock, logger: Logger, trust: ClientTrust? = nil, crlPublishers: IssuerCRLPublishers? = nil,
        ocsp: IssuerOCSPResponders? = nil
    ) {
        self.state = state
        self.roster = roster
        self.root = root
        self.store = store
        self.clock = clock
        self.logger = logger
        self.trust = trust
        self.crlPublishers = crlPublishers
        self.ocsp = ocsp
    }

    /// Retires every retiring issuer that is due; returns their IDs (lower-case hex SKIs).
    @discardableResult
    public func retireDue() async throws -> [String] {
        var retired: [String] = []
        let now = clock.now()
        for certificate in roster.retiring {
            let ski = try IssuerRoster.ski(certificate)
            let lastExpiry = try await store.latestExpiry(issuerSKI: ski, excluding: [.ocspSigner])
            let intermediateExpired = certificate.notValidAfter <= now
            guard intermediateExpired || (lastExpiry.map { $0 <= now } ?? true) else { continue }
            try await retire(certificate, ski: ski, lastExpiry: lastExpiry, now: now)
            retired.append(ski)
        }
        return retired
    }

    func retire(_ certificate: Certificate, ski: String, lastExpiry: Date?, now: Date) async throws {
        // The record first: a crash after it leaves a retirement to finish, never an unrecorded one.
        var details = ["subject": "\(certificate.subject)", "not_after": Self.timestamp(certificate.notValidAfter)]
        if let lastExpiry { details["last_certificate_expiry"] = Self.timestamp(lastExpiry) }
        _ = try await store.append(AuditEntry(time: now, actor: "system", action: "intermediate.retired", subject: ski, details: details))
        roster.remove(ski: ski)
        trust?.setIntermediates(roster.all)
        ocsp?.retire(issuerID: ski)
        await crlPublishers?.retire(issuerID: ski)
        try moveToRetired(ski)
        try SecureFile.replaceAtomically(Array(try PEMCodec.pemChain(roster.all + [root]).utf8), at: state.caChain, mode: 0o644)
        logger.notice("retired intermediate", metadata: ["issuer": "\(ski)", "subject": "\(certificate.subject)"])
    }

    /// `ca/issuers/<ski>/` → `ca/retired/<ski>/`, deleting a file key first.
    func moveToRetired(_ ski: String) throws {
        let key = state.issuerKey(ski)
        if FileManager.default.fileExists(atPath: key) {
            guard unlink(key) == 0 else {
                throw ApplianceError.stateDirectory("cannot delete the retired key \(key): \(String(cString: strerror(errno)))")
            }
        }
        let privateDirectory = state.issuerPrivateDirectory(ski)
        if FileManager.default.fileExists(atPath: privateDirectory), rmdir(privateDirectory) != 0 {
            throw ApplianceError.stateDirectory("cannot remove \(privateDirectory): \(String(cString: strerror(errno)))")
        }
        if mkdir(state.retiredIssuersDirectory, 0o750) != 0, errno != EEXIST {
            throw ApplianceError.stateDirectory("cannot create \(state.retiredIssuersDirectory): \(String(cString: strerror(errno)))")
        }
        let destination = state.path("ca", "retired", ski)
        guard rename(state.issuerDirectory(ski), destination) == 0 else {
            throw ApplianceError.stateDirectory("cannot move \(state.issuerDirectory(ski)) to \(destination): \(String(cString: strerror(errno)))")
        }
    }

    static func timestamp(_ date: Date) -> String { ISO8601DateFormatter().string(from: date) }
}
