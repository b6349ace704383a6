import AgentKit
import Crypto
import Foundation
import PKICore
import SwiftASN1
import TestSupport
import Testing
import X509

/// Issue #19: "The agent's hostname check (HTTPSClient) is never reached by a wrong host: test
/// the client, not only ServerTrustPolicy", and issue #11: "A server name that begins with a digit
/// (`3com.example`) is taken for an IP address today so verification always fails."
@Suite("The agent checks the server's name and profile", .serialized)
struct ServerNameVerificationTests {
    @Test(
        "HTTPSClient refuses a serverAuth certificate for another name and sends nothing; the right name gets the request",
        arguments: [
            // (dialled host, bind address, certificate DNS names, certificate IPs, trusted?)
            ("localhost", "127.0.0.1", ["appliance.test"], [[UInt8]](), false),
            ("localhost", "127.0.0.1", ["localhost"], [[UInt8]](), true),
            ("127.0.0.1", "127.0.0.1", ["localhost"], [[UInt8]](), false),
            ("127.0.0.1", "127.0.0.1", ["appliance.test"], [[127, 0, 0, 1]], true),
            ("::1", "::1", ["localhost"], [[127, 0, 0, 1]], false),
            ("::1", "::1", ["appliance.test"], [[UInt8](repeating: 0, count: 15) + [1]], true),
        ])
    func clientChecksHost(host: String, bind: String, dnsNames: [String], ips: [[UInt8]], trusted: Bool) async throws {
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueServer(fqdn: dnsNames[0], dnsNames: Array(dnsNames.dropFirst()), ipAddresses: ips)
        let server = try RecordingTLSServer(chain: [leaf.certificate, pki.intermediate, pki.root], key: leaf.privateKey, bindAddress: bind)
        defer { server.stop() }
        let client = HTTPSClient(trust: ServerTrustPolicy(pin: SPKIPin(of: pki.root)))
        let url = try #require(URL(string: server.url(host: host) + "/api/v1/agent/status"))
        if trusted {
            let response = try await client.send(method: .GET, url: url)
            #expect(response.status == 503)
            server.waitForConnections(1)
            #expect(String(decoding: server.receivedBytes, as: UTF8.self).hasPrefix("GET /api/v1/agent/status HTTP/1.1"))
            let expectedHost = host.contains(":") ? "[\(host)]:\(server.port)" : "\(host):\(server.port)"
            #expect(String(decoding: server.receivedBytes, as: UTF8.self).contains("Host: \(expectedHost)\r\n"))
        } else {
            let error = await #expect(throws: AgentError.self) { try await client.send(method: .GET, url: url) }
            #expect(error?.code == .untrustedServer)
            #expect(error?.reason.contains("does not verify for \(host)") == true, "\(String(describing: error))")
            #expect(error?.reason.contains("nothing was sent") == true)
            server.waitForConnections(1)
            #expect(server.connectionCount >= 1, "the client must have reached the server: \(server.events)")
            #expect(server.receivedBytes.isEmpty, "\(String(decoding: server.receivedBytes, as: UTF8.self))")
        }
    }

    @Test(
        "host names are classified by parsing: 3com.example is a DNS name, IPv4 and IPv6 literals are addresses",
        arguments: [
            ("3com.example", ServerHost.dnsName("3com.example")),
            ("1.2.3", .dnsName("1.2.3")),
            ("10.0.0.256", .dnsName("10.0.0.256")),
            ("appliance.example.net", .dnsName("appliance.example.net")),
            ("192.0.2.7", .ipv4("192.0.2.7")),
            ("::1", .ipv6("::1")),
            ("[2001:db8::5]", .ipv6("2001:db8::5")),
        ])
    func classification(text: String, expected: ServerHost) {
        #expect(ServerHost(text) == expected)
    }

    @Test("a server name beginning with a digit verifies against its dNSName, and only that name")
    func digitFirstName() async throws {
        let pki = try await TestPKI.make()
        let leaf = try await pki.issueServer(fqdn: "3com.example", ipAddresses: [])
        let policy = ServerTrustPolicy(pin: SPKIPin(of: pki.root))
        let chain = [leaf.certificate, pki.intermediate, pki.root]
        #expect(await policy.evaluate(presented: chain, hostname: "3com.example") == nil)
        #expect(await policy.evaluate(presented: chain, hostname: "4com.example")?.contains("does not verify for 4com.example") == true)
        // An IPv6 literal in a URL (brackets) matches an iPAddress SAN of 16 octets.
        let v6 = try await pki.issueServer(fqdn: "appliance.test", ipAddresses: [[0x20, 0x01, 0x0d, 0xb8] + [UInt8](repeating: 0, count: 11) + [5]])
        #expect(await policy.evaluate(presented: [v6.certificate, pki.intermediate, pki.root], hostname: "[2001:db8::5]") == nil)
        #expect(await policy.evaluate(presented: [v6.certificate, pki.intermediate, pki.root], hostname: "2001:db8::6") != nil)
    }

    /// A leaf from the test intermediate with exactly the extensions given.
    static func leaf(_ pki: TestPKI, commonName: String, usages: [ExtendedKeyUsage.Usage]?, sans: [GeneralName]) throws -> Certificate {
        let key = P256.Signing.PrivateKey()
        return try Certificate(
            version: .v3, serialNumber: .init(), publicKey: .init(key.publicKey),
            notValidBefore: Date() - 60, notValidAfter: Date() + 86400,
            issuer: pki.intermediate.subject, subject: try DistinguishedName { CommonName(commonName) }, signatureAlgorithm: .ecdsaWithSHA256,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.notCertificateAuthority)
                Critical(KeyUsage(digitalSignature: true))
                if let usages { try ExtendedKeyUsage(usages) }
                SubjectAlternativeNames(sans)
                AuthorityKeyIdentifier(keyIdentifier: try pki.intermediate.extensions.subjectKeyIdentifier?.keyIdentifier)
            },
            issuerPrivateKey: pki.intermediateKey)
    }

    @Test(
        "only the server profile is a server: clientAuth-only, no EKU, serverAuth+clientAuth, an agent URN or an agent CN are refused",
        arguments: [
            ("agent-web-01-x", [ExtendedKeyUsage.Usage.clientAuth], false, "lacks the serverAuth extended key usage"),
            ("appliance.test", nil, false, "no extendedKeyUsage extension"),
            ("appliance.test", [.serverAuth, .clientAuth], false, "allows clientAuth as well as serverAuth"),
            ("appliance.test", [.serverAuth], true, "carries the agent identity urn:uuid:"),
            ("agent-localhost-0d4f", [.serverAuth], false, "has a client common name"),
            ("admin-alice", [.serverAuth], false, "has a client common name"),
        ] as [(String, [ExtendedKeyUsage.Usage]?, Bool, String)])
    func profileChecks(commonName: String, usages: [ExtendedKeyUsage.Usage]?, agentURN: Bool, reason: String) async throws {
        let pki = try await TestPKI.make()
        var sans: [GeneralName] = [.dnsName("localhost")]
        if agentURN { sans.append(.uniformResourceIdentifier("urn:uuid:\(UUID().uuidString.lowercased())")) }
        let certificate = try Self.leaf(pki, commonName: commonName, usages: usages, sans: sans)
        let policy = ServerTrustPolicy(pin: SPKIPin(of: pki.root))
        let refusal = await policy.evaluate(presented: [certificate, pki.intermediate, pki.root], hostname: "localhost")
        #expect(refusal?.contains(reason) == true, "\(String(describing: refusal))")
        // The same chain with the server profile's certificate is accepted (the check is not a blanket refusal).
        let genuine = try await pki.issueServer(fqdn: "localhost")
        #expect(await policy.evaluate(presented: [genuine.certificate, pki.intermediate, pki.root], hostname: "localhost") == nil)
    }
}
