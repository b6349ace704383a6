import ApplianceKit
import Crypto
import Foundation
import PKICore
import SwiftASN1
import X509

/// Input for the EST enrolment load (scripts/bench/network.sh): N one-time enrolment tokens created
/// through the running appliance's admin socket (what `appliance agents token` does) and N
/// distinct agent CSRs (`CN=agent-{hostname}-{uuid}`, DNS + URN SANs, as `agent enroll` makes
/// them), all generated before timing. Writes one line per enrolment: `token<TAB>base64 CSR`,
/// which `scripts/bench/est.lua` posts, one per new TLS connection.
///
/// Arguments: `--state DIR` `--count N` `--out FILE` `[--prefix bench]`.
enum ESTPrepare {
    static func run(arguments: [String]) throws {
        guard let state = CRLBenchmark.option("--state", in: arguments), let out = CRLBenchmark.option("--out", in: arguments),
            let count = CRLBenchmark.option("--count", in: arguments).flatMap(Int.init), (1...1_000_000).contains(count)
        else { throw PKIError.invalidParameter("est-prepare needs --state DIR --count N (1…1000000) --out FILE") }
        let prefix = CRLBenchmark.option("--prefix", in: arguments) ?? "bench"
        let admin = AdminClient(socketPath: StateDirectory(path: state).adminSocket)
        var lines: [String] = []
        lines.reserveCapacity(count)
        let start = DispatchTime.now()
        for index in 0..<count {
            let hostname = "\(prefix)-\(index).example.test"
            let response = try admin.send(AdminRequest(command: "agents.token", arguments: ["hostname": hostname]))
            guard response.ok, let token = response.lines.last?.split(separator: " ").last.map(String.init), !token.isEmpty else {
                throw PKIError.invalidParameter("agents.token failed: \(response.error ?? "no token in the answer")")
            }
            lines.append(token + "\t" + (try csr(hostname: hostname)))
        }
        try (lines.joined(separator: "\n") + "\n").write(toFile: out, atomically: true, encoding: .utf8)
        print(String(format: "est-prepare: %d tokens + CSRs in %.1f s → %@", count, CRLBenchmark.elapsed(since: start), out))
    }

    /// A P-256 CSR exactly as `agent enroll` builds it (AgentKit/AgentEnrollment.swift), base64 DER.
    static func csr(hostname: String) throws -> String {
        let key = P256.Signing.PrivateKey()
        let uuid = UUID().uuidString.lowercased()
        let request = try CertificateSigningRequest(
            version: .v1, subject: try DistinguishedName { CommonName("agent-\(hostname)-\(uuid)") },
            privateKey: Certificate.PrivateKey(key),
            attributes: try CertificateSigningRequest.Attributes([
                .init(
                    ExtensionRequest(
                        extensions: try Certificate.Extensions {
                            SubjectAlternativeNames([.dnsName(hostname), .uniformResourceIdentifier("urn:uuid:\(uuid)")])
                        }))
            ]),
            signatureAlgorithm: .ecdsaWithSHA256)
        var serializer = DER.Serializer()
        try serializer.serialize(request)
        return Data(serializer.serializedBytes).base64EncodedString()
    }
}
