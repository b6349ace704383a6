import Foundation
import NIOConcurrencyHelpers

/// The CRL publishers of every intermediate this appliance answers for: the current issuer's
/// (also serving the root CRL) and one per retiring issuer (docs/lifecycle.md#intermediate-renewal: CRLs are published per
/// issuer during a renewal overlap). Served at `/crl/intermediate.crl` (current issuer),
/// `/crl/issuer/<ski>.crl` (any active issuer) and `/crl/root.crl`.
public final class IssuerCRLPublishers: RevocationPublisher, CRLPublishing {
    /// The issuing intermediate's publisher.
    public let current: CRLPublisher
    private let retiringBox: NIOLockedValueBox<[CRLPublisher]>

    public init(current: CRLPublisher, retiring: [CRLPublisher] = []) {
        self.current = current
        self.retiringBox = NIOLockedValueBox(retiring)
    }

    /// Publishers of retiring issuers that have not been retired.
    public var retiring: [CRLPublisher] { retiringBox.withLockedValue { $0 } }

    /// Every active publisher, current first.
    public var all: [CRLPublisher] { [current] + retiring }

    public func currentCRL(issuer: CRLIssuer) async throws -> [UInt8]? {
        try await current.currentCRL(issuer: issuer)
    }

    public func currentCRL(issuerID: String) async throws -> [UInt8]? {
        guard let publisher = all.first(where: { $0.issuerID == issuerID.lowercased() }) else { return nil }
        return try await publisher.currentCRL(issuer: .intermediate)
    }

    /// Stops and drops the retiring issuer `issuerID`'s publisher; its last CRL stays on disk.
    public func retire(issuerID: String) async {
        let removed = retiringBox.withLockedValue { list -> CRLPublisher? in
            guard let index = list.firstIndex(where: { $0.issuerID == issuerID }) else { return nil }
            return list.remove(at: index)
        }
        await removed?.retire()
    }

    /// A revocation was recorded: every active issuer's CRL is regenerated (coalesced per
    /// publisher). Routing by issuer would need a store read on the revocation path; a retiring
    /// issuer's extra CRL number is harmless.
    public func revocationOccurred() async {
        for publisher in all { await publisher.revocationOccurred() }
    }

    /// `appliance crl generate`: publishes every active issuer's CRL now, current first; one line each.
    public func publishNow() async throws -> String {
        var lines: [String] = []
        for publisher in all {
            try await publisher.publishNow()
            let number = await publisher.servedCRLNumber(.intermediate).map { "\($0)" } ?? "?"
            // On a shared store a node that does not hold the publisher lock serves the leader's newest CRL.
            let how = await publisher.publishesHere ? "published" : "served (signed by the node that holds the publisher lock)"
            lines.append(
                publisher.role == .current
                    ? "intermediate CRL \(number) \(how)"
                    : "retiring issuer \(publisher.issuerID) CRL \(number) \(how)")
        }
        return lines.joined(separator: "\n")
    }
}
