import Foundation
import Registration

extension InMemoryStore: CertificateExpiryLookup {
    /// notAfter of each serial the store knows (reference semantics of the SQL stores' batched
    /// lookup used by CRL pruning); unknown serials are absent from the answer.
    public func notAfter(serials: [String]) -> [String: Date] {
        var result: [String: Date] = [:]
        result.reserveCapacity(serials.count)
        for serial in serials {
            if let record = state.certificates[serial] { result[serial] = record.notAfter }
        }
        return result
    }
}
