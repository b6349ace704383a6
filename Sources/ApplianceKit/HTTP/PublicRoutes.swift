import Foundation
import Hummingbird
import Logging
import NIOCore
import PKICore
import X509

/// Routes of the plain-HTTP listener: CRLs, OCSP, CA chain, health and metrics. Everything here
/// is public and signed (CRL, OCSP) or public anyway (certificates), so no TLS is needed (RFC 5280
/// §8 and RFC 6960 Appendix A: CRL/OCSP over HTTP).
struct PublicRoutes: Sendable {
    let services: ApplianceServices
    let configuration: ApplianceConfiguration
    let metrics: ApplianceMetrics
    let logger: Logger

    func register(on router: Router<ApplianceRequestContext>) {
        router.get("/crl/intermediate.crl") { _, _ in try await self.crl(.intermediate) }
        router.get("/crl/root.crl") { _, _ in try await self.crl(.root) }
        // Per-issuer CRLs (docs/lifecycle.md#intermediate-renewal: renewal with overlap), named by the issuer's hex SKI; this
        // URL is the CRL distribution point of the certificates that issuer signs.
        router.get("/crl/issuer/:file") { _, context in
            let file = context.parameters.get("file") ?? ""
            let id = file.hasSuffix(".crl") ? String(file.dropLast(4)) : ""
            guard !id.isEmpty, id.count <= 128, id.allSatisfy(\.isHexDigit) else {
                throw ApplianceError.notFound("no such CRL: \(file.prefix(140))")
            }
            let routes = HTTPSRoutes(services: self.services, configuration: self.configuration, metrics: self.metrics, logger: self.logger)
            guard let der = try await routes.call("CRL", { try await self.services.revocationPublisher.currentCRL(issuerID: id.lowercased()) }) else {
                throw ApplianceError.notFound("no CRL is published for issuer \(id)")
            }
            return ESTResponse.bytes(der, contentType: "application/pkix-crl")
        }
        router.post("/ocsp") { request, _ in
            var request = request
            let body: ByteBuffer
            // OCSP requests are small (RFC 6960 §4.1): limits.max_ocsp_request_bytes, 413 beyond.
            let limit = self.configuration.limits.maxOCSPRequestBytes
            do {
                body = try await request.collectBody(upTo: limit)
            } catch is NIOTooManyBytesError {
                throw ApplianceError.tooLarge("OCSP request exceeds \(limit) bytes")
            }
            return try await self.ocsp(Array(buffer: body))
        }
        // RFC 6960 §A.1: GET {url}/{url-encoding of base64 of the DER OCSPRequest}.
        router.get("/ocsp/**") { request, _ in
            let encoded = String(request.uri.path.dropFirst("/ocsp/".count))
            let base64 = encoded.removingPercentEncoding ?? encoded
            guard let data = Data(base64Encoded: base64) else {
                throw ApplianceError.malformed("OCSP GET path is not base64 of a DER OCSPRequest")
            }
            return try await self.ocsp([UInt8](data))
        }
        router.get("/ca/chain.pem") { _, _ in try await self.chain() }
        router.get("/health") { _, _ in
            switch await self.services.health() {
            case .healthy: ESTResponse.text("ok\n")
            // Still serving the last good CRL, but an operator must look (e.g. crl/ not writable).
            case .degraded(let reason): ESTResponse.text("degraded: \(reason)\n", status: .serviceUnavailable)
            // Publishing and current; the detail tells the operator what to repair.
            case .attention(let reason): ESTResponse.text("ok; attention: \(reason)\n")
            }
        }
        router.get("/metrics") { _, _ in
            ESTResponse.text(self.metrics.registry.render(), contentType: "text/plain; version=0.0.4; charset=utf-8")
        }
    }

    func crl(_ issuer: CRLIssuer) async throws -> Response {
        let routes = HTTPSRoutes(services: services, configuration: configuration, metrics: metrics, logger: logger)
        guard let der = try await routes.call("CRL", { try await services.revocationPublisher.currentCRL(issuer: issuer) }) else {
            throw ApplianceError.notFound("no \(issuer.rawValue) CRL has been published yet")
        }
        return ESTResponse.bytes(der, contentType: "application/pkix-crl")
    }

    func ocsp(_ request: [UInt8]) async throws -> Response {
        let started = ContinuousClock.now
        defer { metrics.observeOCSP(since: started) }
        let routes = HTTPSRoutes(services: services, configuration: configuration, metrics: metrics, logger: logger)
        let response = try await routes.call("OCSP", { try await services.ocsp.respond(toRequest: request) })
        return ESTResponse.bytes(response, contentType: "application/ocsp-response")
    }

    func chain() async throws -> Response {
        let routes = HTTPSRoutes(services: services, configuration: configuration, metrics: metrics, logger: logger)
        let certificates = try await routes.call("CA chain", { try await services.certificateAuthority.caCertificates() })
        var pem = ""
        for certificate in certificates {
            pem += try certificate.serializeAsPEM().pemString + "\n"
        }
        return ESTResponse.text(pem, contentType: "application/pem-certificate-chain")
    }
}
