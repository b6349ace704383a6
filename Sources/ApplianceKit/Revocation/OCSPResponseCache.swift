import Foundation
import NIOConcurrencyHelpers
import PKICore

/// Pre-signed OCSP responses per CertID (hash algorithm + serial), so the common request (one
/// CertID, no nonce) costs a dictionary lookup and no signature (RFC 5019 §2.1: responses may be
/// pre-produced). Revocation removes a serial's entries at once, and an ``epoch`` guard keeps a
/// lookup that started before the revocation from putting its stale answer back.
final class OCSPResponseCache: Sendable {
    struct Key: Hashable, Sendable {
        let algorithm: OCSPHashAlgorithm
        let serial: [UInt8]

        init(_ certID: OCSPCertID) {
            algorithm = certID.hashAlgorithm
            serial = Array(certID.serialNumber.bytes)
        }
    }

    struct Entry: Sendable {
        let single: OCSPSingleResponse
        /// The signed DER OCSPResponse for a request of exactly this CertID without nonce.
        let response: [UInt8]
        /// Not served from the cache after this instant.
        let validUntil: Date
        /// Metrics label of the status.
        let statusLabel: String
    }

    private struct State {
        var entries: [Key: Entry] = [:]
        var epoch: UInt64 = 0
    }

    private let state = NIOLockedValueBox(State())
    let capacity: Int

    init(capacity: Int) { self.capacity = max(1, capacity) }

    /// The epoch to pass to ``store(_:for:ifEpoch:)``; read it before looking in the store.
    var epoch: UInt64 { state.withLockedValue { $0.epoch } }

    var count: Int { state.withLockedValue { $0.entries.count } }

    func lookup(_ key: Key, now: Date) -> Entry? {
        state.withLockedValue { state in
            guard let entry = state.entries[key] else { return nil }
            guard now < entry.validUntil, now >= entry.single.thisUpdate else {
                state.entries[key] = nil
                return nil
            }
            return entry
        }
    }

    /// Stores `entry` unless an invalidation happened since `epoch` was read.
    func store(_ entry: Entry, for key: Key, ifEpoch epoch: UInt64, now: Date) {
        state.withLockedValue { state in
            guard state.epoch == epoch else { return }
            if state.entries.count >= capacity {
                state.entries = state.entries.filter { now < $0.value.validUntil }
                if state.entries.count >= capacity { state.entries.removeAll(keepingCapacity: true) }
            }
            state.entries[key] = entry
        }
    }

    /// Removes every entry for `serial` (all hash algorithms) and advances the epoch.
    func invalidate(serial: [UInt8]) {
        state.withLockedValue { state in
            state.epoch &+= 1
            for algorithm in OCSPHashAlgorithm.allCases {
                state.entries[Key(algorithm: algorithm, serial: serial)] = nil
            }
        }
    }

    /// Drops everything (e.g. when the responder certificate is replaced early).
    func invalidateAll() {
        state.withLockedValue { state in
            state.epoch &+= 1
            state.entries.removeAll()
        }
    }
}

extension OCSPRequest {
    /// The request's CertID when the cache may answer it: exactly one CertID and no nonce. A
    /// nonce must be echoed in a freshly signed response (RFC 6960 §4.4.1), and several CertIDs
    /// are signed together (RFC 5019 §2.1 pre-produces single responses only).
    var cacheableCertID: OCSPCertID? {
        nonce == nil && certIDs.count == 1 ? certIDs[0] : nil
    }
}

extension OCSPResponseCache.Key {
    init(algorithm: OCSPHashAlgorithm, serial: [UInt8]) {
        self.algorithm = algorithm
        self.serial = serial
    }
}
