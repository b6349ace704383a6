import PKICore
import TestSupport
import Testing
import X509

@testable import ApplianceKit

/// ``ParsedLeafCache``: the handshake's parsed client certificates, by exact DER bytes (issue #17).
@Suite("Parsed leaf cache: only exact DER bytes that passed the check are served from memory")
struct ParsedLeafCacheTests {
    @Test("a certificate is served from memory only after it was remembered, and only for the same bytes; a changed byte is parsed")
    func exactBytesOnly() async throws {
        let pki = try await TestPKI.make()
        let agent = try await pki.issueAgent(hostname: "leaf-1")
        let der = try PEMCodec.der(agent.certificate)
        let cache = ParsedLeafCache()

        let first = try cache.certificate(der: der)
        #expect(!first.remembered && first.certificate == agent.certificate)
        #expect(try !cache.certificate(der: der).remembered, "looked up, not remembered: parsed again")
        cache.remember(first)
        let second = try cache.certificate(der: der)
        #expect(second.remembered && second.certificate == agent.certificate)

        // The same certificate with its signature's last byte changed: other bytes, parsed anew.
        var altered = der
        altered[altered.count - 1] ^= 0x01
        let forged = try cache.certificate(der: altered)
        #expect(!forged.remembered)
        #expect(forged.certificate.signature != agent.certificate.signature)
        #expect(throws: (any Error).self) { try cache.certificate(der: Array(der.dropLast())) }
        #expect(cache.count == 1)
    }

    @Test("it is bounded: full, it is emptied before the next certificate is remembered")
    func bounded() async throws {
        let pki = try await TestPKI.make()
        let cache = ParsedLeafCache(capacity: 2)
        var parsed: [ParsedLeafCache.Parsed] = []
        for index in 0..<3 {
            let agent = try await pki.issueAgent(hostname: "leaf-\(index)")
            parsed.append(try cache.certificate(der: try PEMCodec.der(agent.certificate)))
            cache.remember(parsed[index])
            #expect(cache.count <= 2)
        }
        #expect(cache.count == 1)
        #expect(try cache.certificate(der: try PEMCodec.der(parsed[2].certificate)).remembered)
        #expect(try !cache.certificate(der: try PEMCodec.der(parsed[0].certificate)).remembered)
        #expect(ParsedLeafCache(capacity: 0).count == 0)
    }
}
