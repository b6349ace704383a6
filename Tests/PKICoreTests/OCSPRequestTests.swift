import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("OCSP requests")
struct OCSPRequestTests {
    /// Asks openssl for a request and returns its DER.
    private func opensslRequest(_ pki: RevocationTestPKI, _ dir: TemporaryDirectory, _ extra: [String]) throws -> [UInt8] {
        try RevocationTestPKI.writePEM(pki.ca, to: dir.file("ca.pem"))
        let out = dir.file("req-\(UUID().uuidString).der")
        let result = try ExternalTool("openssl").run(["ocsp", "-issuer", dir.file("ca.pem"), "-reqout", out] + extra)
        #expect(result.succeeded, "\(result.output)")
        return Array(try Data(contentsOf: URL(fileURLWithPath: out)))
    }

    @Test("requests made by openssl decode to the right CertIDs (serial, -cert, SHA-256, nonce)")
    func opensslRequests() async throws {
        let pki = try RevocationTestPKI()
        let hashes = try OCSPIssuerHashes(issuer: pki.ca)
        try await withTemporaryDirectory { dir in
            let serialHex = RevocationTestPKI.hex(pki.leaf.serialNumber)
            let plain = try OCSPRequest(derEncoded: opensslRequest(pki, dir, ["-serial", "0x" + serialHex, "-no_nonce"]))
            #expect(plain.certIDs == [try hashes.certID(serialNumber: pki.leaf.serialNumber, hashAlgorithm: .sha1)])
            #expect(plain.nonce == nil)
            #expect(hashes.matches(plain.certIDs[0]))

            try RevocationTestPKI.writePEM(pki.otherLeaf, to: dir.file("other.pem"))
            let byCert = try OCSPRequest(derEncoded: opensslRequest(pki, dir, ["-cert", dir.file("other.pem"), "-no_nonce"]))
            #expect(byCert.certIDs.map(\.serialNumber) == [pki.otherLeaf.serialNumber])
            #expect(hashes.matches(byCert.certIDs[0]))

            let sha256 = try OCSPRequest(derEncoded: opensslRequest(pki, dir, ["-sha256", "-serial", "0x" + serialHex, "-no_nonce"]))
            #expect(sha256.certIDs == [try hashes.certID(serialNumber: pki.leaf.serialNumber, hashAlgorithm: .sha256)])

            let withNonce = try OCSPRequest(derEncoded: opensslRequest(pki, dir, ["-serial", "0x" + serialHex, "-cert", dir.file("other.pem")]))
            #expect(withNonce.certIDs.count == 2)
            #expect(withNonce.nonce?.bytes.count == 16)  // openssl's default nonce length

            // A CertID of another CA does not match.
            let other = try RevocationTestPKI()
            #expect(!(try OCSPIssuerHashes(issuer: other.ca)).matches(plain.certIDs[0]))
        }
    }

    @Test("the GET form (base64, URL-encoded) decodes like the POST body")
    func getForm() async throws {
        let pki = try RevocationTestPKI()
        try await withTemporaryDirectory { dir in
            let der = try opensslRequest(pki, dir, ["-serial", "0x" + RevocationTestPKI.hex(pki.leaf.serialNumber)])
            let base64 = Data(der).base64EncodedString()
            let percent = base64.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
            let url = base64.replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
                .replacingOccurrences(of: "=", with: "")
            let post = try OCSPRequest(derEncoded: der)
            #expect(try OCSPRequest(getPathSegment: percent) == post)
            #expect(try OCSPRequest(getPathSegment: base64) == post)
            #expect(try OCSPRequest(getPathSegment: url) == post)
            let badPercent = #expect(throws: PKIError.self) { try OCSPRequest(getPathSegment: "%%%") }
            #expect(
                badPercent?.code == .malformedInput && badPercent?.reason == "OCSP GET path: invalid percent-encoding",
                "\(String(describing: badPercent))")
            let empty = #expect(throws: PKIError.self) { try OCSPRequest(getPathSegment: "") }
            #expect(empty?.code == .malformedInput && empty?.reason == "OCSP GET path is not base64", "\(String(describing: empty))")
        }
    }

    @Test("bad requests give the error a responder maps to malformedRequest")
    func badRequests() async throws {
        let pki = try RevocationTestPKI()
        let hashes = try OCSPIssuerHashes(issuer: pki.ca)
        let good = try hashes.certID(serialNumber: pki.leaf.serialNumber)
        // Empty body.
        #expect { try OCSPRequest(derEncoded: []) } throws: { ($0 as? PKIError)?.code == .malformedInput }
        // Truncated DER at every length.
        let der = OCSPRequestBuilder.request([good])
        for length in 1..<der.count {
            #expect { try OCSPRequest(derEncoded: der.prefix(length)) } throws: { ($0 as? PKIError)?.code == .malformedInput }
        }
        #expect(try OCSPRequest(derEncoded: der).certIDs == [good])
        // Exactly the limit is fine; one more is refused.
        let limit = Array(repeating: good, count: OCSPRequest.maximumCertIDs)
        #expect(try OCSPRequest(derEncoded: OCSPRequestBuilder.request(limit)).certIDs.count == OCSPRequest.maximumCertIDs)
        #expect { try OCSPRequest(derEncoded: OCSPRequestBuilder.request(limit + [good])) } throws: {
            ($0 as? PKIError)?.code == .invalidParameter
        }
        // No CertID at all.
        #expect { try OCSPRequest(derEncoded: OCSPRequestBuilder.request([])) } throws: { ($0 as? PKIError)?.code == .malformedInput }
        // An unknown hash algorithm (SHA-384).
        let sha384 = OCSPRequestBuilder.request([good], hashOID: [0x06, 0x09, 0x60, 0x86, 0x48, 0x01, 0x65, 0x03, 0x04, 0x02, 0x02])
        #expect { try OCSPRequest(derEncoded: sha384) } throws: {
            guard let error = $0 as? PKIError else { return false }
            return error.code == .unsupportedAlgorithm && error.reason.contains("hash algorithm")
        }
        // Nonces: 33 bytes is too long (RFC 8954), 32 is fine.
        #expect(try OCSPRequest(derEncoded: OCSPRequestBuilder.request([good], nonce: Array(repeating: 7, count: 32))).nonce?.bytes.count == 32)
        #expect { try OCSPRequest(derEncoded: OCSPRequestBuilder.request([good], nonce: Array(repeating: 7, count: 33))) } throws: {
            ($0 as? PKIError)?.code == .malformedInput
        }
    }
}

/// Hand-built OCSP requests for cases openssl will not produce.
enum OCSPRequestBuilder {
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var out = [tag]
        if content.count < 0x80 {
            out.append(UInt8(content.count))
        } else if content.count < 0x100 {
            out += [0x81, UInt8(content.count)]
        } else {
            out += [0x82, UInt8(content.count >> 8), UInt8(content.count & 0xFF)]
        }
        return out + content
    }

    static let sha1OID: [UInt8] = [0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A]

    static func request(_ ids: [OCSPCertID], hashOID: [UInt8]? = nil, nonce: [UInt8]? = nil) -> [UInt8] {
        let requests = ids.flatMap { id -> [UInt8] in
            let serial = id.serialNumber.bytes.first.map { $0 & 0x80 != 0 } == true ? [0] + id.serialNumber.bytes : Array(id.serialNumber.bytes)
            let certID = tlv(
                0x30,
                tlv(0x30, (hashOID ?? sha1OID) + [0x05, 0x00]) + tlv(0x04, id.issuerNameHash) + tlv(0x04, id.issuerKeyHash)
                    + tlv(0x02, serial))
            return tlv(0x30, certID)
        }
        var tbs = tlv(0x30, requests)
        if let nonce {
            let ext = tlv(0x30, [0x06, 0x09, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02] + tlv(0x04, tlv(0x04, nonce)))
            tbs += tlv(0xA2, tlv(0x30, ext))
        }
        return tlv(0x30, tlv(0x30, tbs))
    }
}
