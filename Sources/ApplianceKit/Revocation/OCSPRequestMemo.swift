import NIOConcurrencyHelpers
import PKICore

/// The one CertID of OCSP requests already decoded, by their exact DER bytes, so a relying party
/// asking again for the same certificate costs a hash of its request instead of a DER decode
/// (docs/performance.md, the OCSP fast path). Decoding is a pure function of the bytes, so a
/// remembered CertID is exactly what decoding again would give; nothing needs invalidating.
///
/// Only requests a cache can answer are remembered (one CertID, no nonce: RFC 5019 §2.1), and
/// only when the caller found the CertID to be of one of its issuers, so requests for other CAs
/// or garbage cannot fill it. At `capacity` entries it starts over: memory stays bounded
/// whatever a client sends, and the worst a flood of distinct requests can do is make every
/// request decode again.
final class OCSPRequestMemo: Sendable {
    private let entries = NIOLockedValueBox<[[UInt8]: OCSPCertID]>([:])
    let capacity: Int

    init(capacity: Int = 4096) { self.capacity = max(1, capacity) }

    /// The remembered CertID of `der`, if any.
    func certID(of der: [UInt8]) -> OCSPCertID? {
        entries.withLockedValue { $0[der] }
    }

    /// Remembers that `der` decodes to a request with exactly `certID` and no nonce.
    func remember(_ der: [UInt8], certID: OCSPCertID) {
        entries.withLockedValue { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[der] = certID
        }
    }

    var count: Int { entries.withLockedValue { $0.count } }
}
