import Authority
import Foundation
import Logging
import PKICore
import Registration
import X509

/// Answers OCSP requests (RFC 6960) for the certificates of one intermediate.
///
/// Per CertID (SHA-1 or SHA-256 issuer hashes):
/// - issued by another CA → the whole response is `unauthorized` (RFC 6960 §2.3);
/// - revoked in the store → `revoked` with the revocation time and reason;
/// - known, issued (or superseded) and inside its validity → `good`;
/// - anything else — never issued here, reserved but never confirmed, expired → `unknown`;
///   `good` is never said without a store lookup (docs/conventions.md#fail-closed);
/// - the store cannot answer → `tryLater` (store unavailable) or `internalError`, unsigned.
///
/// Limits (documented for operators): the HTTP route accepts bodies up to 8 KiB
/// (`limits.max_ocsp_request_bytes`) and a request may name at most
/// `OCSPRequest.maximumCertIDs` (64) CertIDs; anything beyond, undecodable DER, an empty request
/// list or an unsupported hash is answered `malformedRequest` (RFC 6960 §2.3).
///
/// Responses are signed by a delegated responder certificate (``OCSPSignerManager``) included in
/// `certs`. A request with one CertID and no nonce is answered from a per-CertID cache of
/// pre-signed responses (valid until nextUpdate − ``Configuration/cacheMargin``), so the signing
/// key is off the hot path; a nonce (RFC 6960 §4.4.1) is echoed in a freshly signed response.
/// ``revocationOccurred(serial:)`` drops a serial's cached answers at once.
public final class OCSPResponder: OCSPResponding {
    /// Validity and caching of responses.
    public struct Configuration: Sendable {
        /// nextUpdate − thisUpdate of good/revoked answers. Default 1 h.
        public var responseValidity: TimeInterval
        /// A cached response is not served within this margin of its nextUpdate. Default 10 min.
        public var cacheMargin: TimeInterval
        /// How long an `unknown` answer is cached (a serial may become issued). Default 60 s.
        public var unknownCacheSeconds: TimeInterval
        /// Responder certificate lifetime (OCSPSignerProfile: 1–30 days). Default 7 days.
        public var responderValidity: TimeInterval
        /// Re-issue the responder certificate when less than this remains. Default 2 days.
        public var responderRenewBefore: TimeInterval
        /// Most cached CertIDs.
        public var cacheCapacity: Int

        public init(
            responseValidity: TimeInterval = 3600, cacheMargin: TimeInterval = 600, unknownCacheSeconds: TimeInterval = 60,
            responderValidity: TimeInterval = OCSPSignerProfile.defaultValidity, responderRenewBefore: TimeInterval = 2 * 86_400,
            cacheCapacity: Int = 200_000
        ) throws {
            guard responseValidity >= 60 else { throw ApplianceError.configuration("ocsp.responseValidity", "must be at least 60 seconds") }
            guard cacheMargin >= 0, cacheMargin < responseValidity else {
                throw ApplianceError.configuration("ocsp.cacheMargin", "must be less than ocsp.responseValidity")
            }
            guard responderRenewBefore > 0, responderRenewBefore < responderValidity else {
                throw ApplianceError.configuration("ocsp.responderRenewBefore", "must be less than ocsp.responderValidity")
            }
            self.responseValidity = responseValidity
            self.cacheMargin = cacheMargin
            self.unknownCacheSeconds = max(0, unknownCacheSeconds)
            self.responderValidity = responderValidity
            self.responderRenewBefore = responderRenewBefore
            self.cacheCapacity = cacheCapacity
        }
    }

    let hashes: OCSPIssuerHashes
    let issuerSKI: String
    let store: any OCSPResponderStore
    let signers: OCSPSignerManager
    let cache: OCSPResponseCache
    let configuration: Configuration
    let clock: any PKIClock
    let metrics: ApplianceMetrics
    let logger: Logger

    /// - Parameters:
    ///   - issuerCertificate / privateKey: the intermediate; its key signs only the responder
    ///     certificate, never a response.
    ///   - responderName: host name put in the responder certificate's SAN and CN.
    public init(
        issuerCertificate: Certificate, privateKey: Certificate.PrivateKey, organization: String, responderName: String,
        store: any OCSPResponderStore, configuration: Configuration, clock: any PKIClock,
        random: any RandomSource, metrics: ApplianceMetrics, logger: Logger
    ) throws {
        guard let ski = try issuerCertificate.extensions.subjectKeyIdentifier else {
            throw ApplianceError.configuration("ca.intermediate", "the intermediate certificate has no subjectKeyIdentifier")
        }
        self.issuerSKI = PKICore.Hex.encode(ski.keyIdentifier)
        self.hashes = try OCSPIssuerHashes(issuer: issuerCertificate)
        self.store = store
        let issuer = try CertificateIssuer(issuerCertificate: issuerCertificate, privateKey: privateKey, clock: clock, random: random)
        let profile = try OCSPSignerProfile(name: responderName, organization: organization, validity: configuration.responderValidity)
        self.signers = OCSPSignerManager(
            issuer: issuer, profile: profile, issuerSKI: issuerSKI, clock: clock,
            renewBefore: configuration.responderRenewBefore, logger: logger)
        self.cache = OCSPResponseCache(capacity: configuration.cacheCapacity)
        self.configuration = configuration
        self.clock = clock
        self.metrics = metrics
        self.logger = logger
        metrics.registry.declare("rootkeeper_ocsp_signatures_total", kind: .counter, help: "OCSP responses signed (cache misses and nonces).")
    }

    /// The RA through which the responder certificate is reserved and recorded (audited and
    /// announced on its event stream, docs/architecture.md#event-stream). The RA's stream reaches
    /// this responder, so it is attached after both exist and before ``prepare()``; until then no
    /// response can be signed.
    public func attach(authority: RegistrationAuthority) async {
        await signers.attach(authority)
    }

    /// Issues the responder certificate now (call at start so the first request does not pay for it).
    /// Returns the responder certificate.
    @discardableResult
    public func prepare() async throws -> Certificate {
        try await signers.signer().responderCertificate
    }

    /// The responder certificate in use, if one has been issued.
    public var responderCertificate: Certificate? {
        get async { await signers.current?.responderCertificate }
    }

    /// A certificate was revoked (the store already says so): its cached answers are dropped
    /// before this returns, so the very next request looks in the store.
    public func revocationOccurred(serial: Certificate.SerialNumber) {
        cache.invalidate(serial: Array(serial.bytes))
    }

    /// As ``revocationOccurred(serial:)-(Certificate.SerialNumber)`` with the store's hex serial.
    /// A serial that is not hex drops the whole cache (never keep a possibly stale answer).
    public func revocationOccurred(serialHex: String) {
        guard let bytes = PKICore.Hex.decode(serialHex), !bytes.isEmpty else {
            cache.invalidateAll()
            return
        }
        revocationOccurred(serial: Certificate.SerialNumber(bytes: bytes))
    }

    /// Number of cached CertIDs (for tests and diagnostics).
    public var cachedResponses: Int { cache.count }
}
