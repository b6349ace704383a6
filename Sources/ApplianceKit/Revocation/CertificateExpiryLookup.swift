import CAStore
import Foundation
import Registration

/// Where the CRL publisher learns when revoked certificates expire, so it can prune them
/// (RFC 5280 §3.3: an entry may be removed once the certificate has expired).
///
/// The revocation rows of `RevocationStore` carry no notAfter, so this joins through the
/// certificate records. The stores of CAStore answer a whole page in a few batched queries
/// (`SELECT serial, not_after FROM certificates WHERE serial IN (...)`) and conform directly;
/// ``CertificateStoreExpiryLookup`` uses that when its store can, else one serial at a time.
public protocol CertificateExpiryLookup: Sendable {
    /// notAfter of each serial the store knows; serials missing from the answer are kept on the
    /// CRL (never prune what cannot be looked up: fail closed). Throws when the store cannot look.
    func notAfter(serials: [String]) async throws -> [String: Date]
}

/// ``CertificateExpiryLookup`` over any `Registration.CertificateStore`: the store's own batched
/// lookup when it has one, else one `certificate(serial:)` per entry (with 1 000 000 revocations
/// that is a million queries per CRL, far beyond the 1 s revoke→visible target of docs/performance.md).
public struct CertificateStoreExpiryLookup: CertificateExpiryLookup {
    let store: any Registration.CertificateStore

    public init(store: any Registration.CertificateStore) { self.store = store }

    public func notAfter(serials: [String]) async throws -> [String: Date] {
        if let batched = store as? any CertificateExpiryLookup { return try await batched.notAfter(serials: serials) }
        var result: [String: Date] = [:]
        result.reserveCapacity(serials.count)
        for serial in serials {
            if let record = try await store.certificate(serial: serial) { result[serial] = record.notAfter }
        }
        return result
    }
}

/// One batched query per page of serials (SQLiteStore+Expiry.swift).
extension SQLiteStore: CertificateExpiryLookup {}

/// The reference semantics the SQL stores' batched lookup must match.
extension InMemoryStore: CertificateExpiryLookup {}
