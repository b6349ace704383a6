import Foundation
import Hummingbird
import NIOCore
import PKICore
import X509

/// Parsing of EST request bodies and credentials (RFC 7030 §4.2.1, §3.2.3).
enum ESTRequestParsing {
    /// Reads the body up to `limit` bytes (→ 413 beyond) and decodes the base64 PKCS#10 in it.
    /// A body declared as anything but `application/pkcs10` is refused (415) before it is read.
    static func csr(from request: inout Request, limit: Int) async throws -> [UInt8] {
        try requirePKCS10(request.headers[.contentType])
        let buffer: ByteBuffer
        do {
            buffer = try await request.collectBody(upTo: limit)
        } catch is NIOTooManyBytesError {
            throw ApplianceError.tooLarge("request body exceeds \(limit) bytes")
        }
        return try csr(fromBody: Array(buffer.readableBytesView))
    }

    /// Decodes a collected body: base64 (whitespace ignored) of a DER PKCS#10. Separate from the
    /// request so the fuzz target `est-body` (scripts/fuzz/) drives exactly what the route does.
    static func csr(fromBody body: [UInt8]) throws -> [UInt8] {
        let text = String(decoding: body, as: UTF8.self).filter { !$0.isWhitespace }
        guard !text.isEmpty else { throw ApplianceError.malformed("request body is empty; expected a base64 PKCS#10 CSR") }
        guard let data = Data(base64Encoded: text) else {
            throw ApplianceError.malformed("request body is not valid base64 (RFC 7030 §4.2.1 requires a base64 PKCS#10 CSR)")
        }
        let der = [UInt8](data)
        do {
            // CSRDecoder names what is wrong: truncated DER, or a key we do not take (RSA under
            // 2048 bits or e ≠ 65537, P-521, Ed25519), so the requester knows what to change.
            _ = try CSRDecoder.decode(der)
        } catch let error as PKIError {
            throw ApplianceError.malformed("request body is not a DER PKCS#10 certificate signing request we accept: \(error.reason)")
        }
        return der
    }

    /// RFC 7030 §4.2.1: "the Content-Type … MUST be application/pkcs10". Parameters after `;` are
    /// ignored and the type is compared case-insensitively (RFC 9110 §8.3.1).
    static func requirePKCS10(_ contentType: String?) throws {
        let fix = "send the base64 CSR with Content-Type: application/pkcs10 (RFC 7030 §4.2.1; with curl: -H 'Content-Type: application/pkcs10')"
        guard let contentType, !contentType.trimmingCharacters(in: .whitespaces).isEmpty else {
            throw ApplianceError.unsupportedMediaType("the request has no Content-Type; \(fix)")
        }
        let mediaType = contentType.split(separator: ";", maxSplits: 1).first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
        guard mediaType == "application/pkcs10" else {
            throw ApplianceError.unsupportedMediaType("Content-Type \(contentType.prefix(100)) is not application/pkcs10; \(fix)")
        }
    }

    /// The agent identity a DER PKCS#10 already checked by ``csr(from:limit:)`` asks for (from its
    /// SAN, `docs/identity.md`); `nil` without one.
    static func agentIdentity(ofCSR der: [UInt8]) -> AgentSubject? {
        guard let parsed = try? CertificateSigningRequest(derEncoded: der) else { return nil }
        return AgentSubject(csr: parsed)
    }

    /// The enrolment token: the password of HTTP Basic (RFC 7030 §3.2.3) or a Bearer token.
    static func token(from request: Request) throws -> String? {
        guard let header = request.headers[.authorization] else { return nil }
        let parts = header.split(separator: " ", maxSplits: 1)
        guard parts.count == 2 else { throw ApplianceError.malformed("Authorization header is not 'Basic …' or 'Bearer …'") }
        let scheme = parts[0].lowercased()
        let value = parts[1].trimmingCharacters(in: .whitespaces)
        switch scheme {
        case "bearer":
            guard !value.isEmpty else { throw ApplianceError.malformed("Bearer token is empty") }
            return value
        case "basic":
            guard let data = Data(base64Encoded: value), let decoded = String(data: data, encoding: .utf8),
                let colon = decoded.firstIndex(of: ":")
            else { throw ApplianceError.malformed("HTTP Basic credentials are not base64 'user:password'") }
            let password = String(decoded[decoded.index(after: colon)...])
            guard !password.isEmpty else { throw ApplianceError.malformed("HTTP Basic password (the enrolment token) is empty") }
            return password
        default:
            throw ApplianceError.malformed("unsupported Authorization scheme \(parts[0])")
        }
    }
}
