import Foundation
import PKICore
import Registration
import X509

extension OCSPResponder {
    public func respond(toRequest der: [UInt8]) async throws -> [UInt8] {
        let request: OCSPRequest
        do { request = try OCSPRequest(derEncoded: der) } catch {
            logger.debug("malformed OCSP request", metadata: ["reason": "\(error)"])
            return try unsuccessful(.malformedRequest, label: "malformedRequest")
        }
        guard request.certIDs.allSatisfy(hashes.matches) else {
            return try unsuccessful(.unauthorized, label: "unauthorized")
        }
        if let hit = cachedResponse(for: request) { return hit }
        let now = clock.now()

        let epoch = cache.epoch
        var singles: [(OCSPSingleResponse, label: String, validUntil: Date)] = []
        do {
            for certID in request.certIDs { singles.append(try await singleResponse(certID, now: now)) }
        } catch let error as StoreError {
            logger.error("OCSP status lookup failed", metadata: ["reason": "\(error)"])
            return try unsuccessful(
                error.code == .unavailable ? .tryLater : .internalError,
                label: error.code == .unavailable ? "tryLater" : "internalError")
        } catch {
            logger.error("OCSP status lookup failed", metadata: ["reason": "\(error)"])
            return try unsuccessful(.internalError, label: "internalError")
        }

        let response: [UInt8]
        let signerNotAfter: Date
        do {
            let signer = try await signers.signer()
            signerNotAfter = signer.responderCertificate.notValidAfter
            response = try await signer.sign(singles.map { $0.0 }, producedAt: now, nonce: request.nonce)
            metrics.registry.increment("rootkeeper_ocsp_signatures_total")
        } catch {
            logger.error("OCSP response signing failed", metadata: ["reason": "\(error)"])
            return try unsuccessful(.internalError, label: "internalError")
        }
        if request.cacheableCertID != nil, let first = singles.first {
            let entry = OCSPResponseCache.Entry(
                single: first.0, response: response, validUntil: min(first.validUntil, signerNotAfter), statusLabel: first.label)
            cache.store(entry, for: OCSPResponseCache.Key(first.0.certID), ifEpoch: epoch, now: now)
        }
        singles.forEach { count($0.label) }
        return response
    }

    /// The cached answer when `der` decodes to a request ``cachedResponse(for:)`` can answer.
    public func cachedResponse(toRequest der: [UInt8]) -> [UInt8]? {
        guard let request = try? OCSPRequest(derEncoded: der) else { return nil }
        return cachedResponse(for: request)
    }

    /// The pre-signed response for `request` if the cache holds one still fresh (the cache's own
    /// rule: before `validUntil`, not before thisUpdate), counted like any other answer. Only a
    /// request with one CertID of this issuer and no nonce is ever answered from the cache
    /// (``OCSPRequest/cacheableCertID``).
    func cachedResponse(for request: OCSPRequest) -> [UInt8]? {
        request.cacheableCertID.flatMap(cachedResponse(for:))
    }

    /// The pre-signed response for a request of exactly `certID` without nonce, as
    /// ``cachedResponse(for:)-(OCSPRequest)`` for such a request.
    func cachedResponse(for certID: OCSPCertID) -> [UInt8]? {
        guard hashes.matches(certID), let hit = cache.lookup(OCSPResponseCache.Key(certID), now: clock.now()) else { return nil }
        count(hit.statusLabel)
        return hit.response
    }

    /// The SingleResponse for `certID` from the store, with how long it may be cached.
    func singleResponse(_ certID: OCSPCertID, now: Date) async throws -> (OCSPSingleResponse, label: String, validUntil: Date) {
        let serial = PKICore.Hex.encode(certID.serialNumber.bytes)
        let nextUpdate = now.addingTimeInterval(configuration.responseValidity)
        let status: OCSPCertStatus
        var validUntil = nextUpdate.addingTimeInterval(-configuration.cacheMargin)
        switch try await store.revocationStatus(serial: serial) {
        case .revoked(let record):
            let reason = record.reason
            status = .revoked(time: record.revokedAt, reason: reason)
        case .notRevoked(let record)
        where (record.status == .issued || record.status == .superseded) && record.issuerSKI == issuerSKI
            && record.isWithinValidity(at: now):
            status = .good
            // A good answer must not outlive the certificate.
            validUntil = min(validUntil, record.notAfter)
        case .notRevoked, .unknown:
            status = .unknown
            validUntil = min(validUntil, now.addingTimeInterval(configuration.unknownCacheSeconds))
        }
        let single = try OCSPSingleResponse(certID: certID, status: status, thisUpdate: now, nextUpdate: nextUpdate)
        return (single, Self.label(status), validUntil)
    }

    static func label(_ status: OCSPCertStatus) -> String {
        switch status {
        case .good: "good"
        case .revoked: "revoked"
        case .unknown: "unknown"
        }
    }

    func unsuccessful(_ status: OCSPResponseStatus, label: String) throws -> [UInt8] {
        count(label)
        return try OCSPResponseSigner.unsignedResponse(status)
    }

    func count(_ label: String) {
        metrics.ocspAnswered(status: label)
    }
}
