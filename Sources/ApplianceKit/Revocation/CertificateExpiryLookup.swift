import Foundation
import Registration

/// Where the CRL publisher learns when revoked certificates expire, so it can prune them
/// (RFC 5280 §3.3: an entry may be removed once the certificate has expired).
///
/// The revocation rows of `RevocationStore` carry no notAfter, so this joins through the
/// certificate records. The default ``CertificateStoreExpiryLookup`` asks one serial at a time;
/// a store that can answer a page in one query (`SELECT serial, not_after FROM certificates
/// WHERE serial IN (...)`) should conform directly.
public protocol CertificateExpiryLookup: Sendable {
    /// notAfter of each serial the store knows; serials missing from the answer are kept on the
    /// CRL (never prune what cannot be looked up: fail closed). Throws when the store cannot look.
    func notAfter(serials: [String]) async throws -> [String: Date]
}

/// ``CertificateExpiryLookup`` over any `Registration.CertificateStore`, one `certificate(serial:)` per entry.
public struct CertificateStoreExpiryLookup: CertificateExpiryLookup {
    let store: any Registration.CertificateStore

    public init(store: any Registration.CertificateStore) { self.store = store }

    public func notAfter(serials: [String]) async throws -> [String: Date] {
        var result: [String: Date] = [:]
        result.reserveCapacity(serials.count)
        for serial in serials {
            if let record = try await store.certificate(serial: serial) { result[serial] = record.notAfter }
        }
        return result
    }
}
