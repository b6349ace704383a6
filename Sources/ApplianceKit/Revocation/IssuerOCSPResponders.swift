import Foundation
import NIOConcurrencyHelpers
import PKICore

/// OCSP for every intermediate this appliance answers for (docs/lifecycle.md#intermediate-renewal, renewal with overlap): one
/// ``OCSPResponder`` per issuer, each with its own delegated responder certificate issued by that
/// issuer (RFC 6960 §4.2.2.2: a delegated responder must be certified by the CA that issued the
/// certificate in question).
///
/// A request is routed by its CertIDs' issuerNameHash/issuerKeyHash (RFC 6960 §4.1.1); the one
/// responder whose issuer matches every CertID answers. A request mixing issuers, or naming none
/// of ours, is answered by the current issuer's responder, which says `unauthorized`
/// (RFC 6960 §2.3) — one response has one signer.
public final class IssuerOCSPResponders: OCSPResponding {
    /// The issuing intermediate's responder.
    public let current: OCSPResponder
    private let retiringBox: NIOLockedValueBox<[OCSPResponder]>
    private let memo = OCSPRequestMemo()

    public init(current: OCSPResponder, retiring: [OCSPResponder] = []) {
        self.current = current
        self.retiringBox = NIOLockedValueBox(retiring)
    }

    /// Every active responder, current first.
    public var all: [OCSPResponder] { [current] + retiringBox.withLockedValue { $0 } }

    public func respond(toRequest der: [UInt8]) async throws -> [UInt8] {
        let responders = all
        if responders.count > 1, let request = try? OCSPRequest(derEncoded: der), !request.certIDs.isEmpty {
            for responder in responders where request.certIDs.allSatisfy(responder.hashes.matches) {
                return try await responder.respond(toRequest: der)
            }
        }
        // Malformed requests, other issuers and single-issuer deployments: the current responder decides.
        return try await current.respond(toRequest: der)
    }

    /// The cached answer of the one responder whose issuer matches the request, routed as
    /// ``respond(toRequest:)`` routes it; nil for anything that responder would not answer from
    /// its cache (and for requests it would call malformed or unauthorized).
    public func cachedResponse(toRequest der: [UInt8]) -> [UInt8]? {
        if let certID = memo.certID(of: der) { return responder(for: certID)?.cachedResponse(for: certID) }
        guard let certID = (try? OCSPRequest(derEncoded: der))?.cacheableCertID, let responder = responder(for: certID) else { return nil }
        memo.remember(der, certID: certID)
        return responder.cachedResponse(for: certID)
    }

    /// The responder whose issuer `certID` names, current first.
    private func responder(for certID: OCSPCertID) -> OCSPResponder? {
        if current.hashes.matches(certID) { return current }
        return retiringBox.withLockedValue { $0.first { $0.hashes.matches(certID) } }
    }

    /// Drops the cached answers of a revoked serial at every responder.
    public func revocationOccurred(serialHex: String) {
        for responder in all { responder.revocationOccurred(serialHex: serialHex) }
    }

    /// Stops answering for the retiring issuer `issuerID` (lower-case hex SKI): its requests are
    /// then `unauthorized`.
    public func retire(issuerID: String) {
        retiringBox.withLockedValue { list in list.removeAll { $0.issuerSKI == issuerID } }
    }
}
