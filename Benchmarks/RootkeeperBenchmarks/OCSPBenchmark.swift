import Foundation
import PKICore
import X509

/// OCSP encoding cost in-process, one core: request decoding, a freshly signed response with a
/// nonce (the expensive path: decode + SingleResponse from cache + sign + verify), and the same
/// without verify-after-sign. The peer is the raw signing rate of `openssl speed` for the same
/// key in the same run; the HTTP responder comparison of docs/performance.md (openssl ocsp, cfssl) is run
/// by the appliance benchmark on top of this.
///
/// Arguments: `--seconds 2` `--keys p256,rsa2048` `--no-peer`.
enum OCSPBenchmark {
    static func run(arguments: [String]) async throws {
        let seconds = Double(CRLBenchmark.option("--seconds", in: arguments) ?? "2") ?? 2
        let keys = CRLBenchmark.option("--keys", in: arguments)?.split(separator: ",").map(String.init) ?? ["p256", "rsa2048"]
        let runPeer = !arguments.contains("--no-peer")
        for key in keys {
            let ca = try BenchmarkCA(key)
            let hashes = try OCSPIssuerHashes(issuer: ca.certificate)
            let serial = Certificate.SerialNumber(bytes: BenchmarkEntries.serial(42))
            let certID = try hashes.certID(serialNumber: serial)
            let requestDER = requestBytes(certID, nonce: Array(repeating: 0x5A, count: 16))
            let single = try OCSPSingleResponse(certID: certID, status: .good, thisUpdate: ca.now, nextUpdate: ca.now + 3600)

            let decodeRate = try measure(seconds) {
                let request = try OCSPRequest(derEncoded: requestDER)
                guard hashes.matches(request.certIDs[0]) else { throw PKIError.malformed("benchmark CertID mismatch") }
            }
            let rawRate = try await measureAsync(seconds) {
                _ = try await ca.privateKey.signAsynchronously(bytes: requestDER, signatureAlgorithm: signatureAlgorithm(key))
            }
            var line = String(format: "%@ OCSP: request decode %.0f/s, raw swift-crypto sign %.0f/s", key, decodeRate, rawRate)
            for verify in [true, false] {
                let signer = try OCSPResponseSigner(
                    responderCertificate: ca.certificate, privateKey: ca.privateKey, verifyAfterSigning: verify)
                let rate = try await measureAsync(seconds) {
                    let request = try OCSPRequest(derEncoded: requestDER)
                    _ = try await signer.sign([single], producedAt: Date(), nonce: request.nonce)
                }
                line += String(format: ", signed with nonce%@ %.0f/s", verify ? " (+verify)" : "", rate)
                if !verify, runPeer, let raw = try opensslSignRate(key) {
                    line += String(format: " | openssl speed raw sign %.0f/s, ratio %.2f", raw, rate / raw)
                }
            }
            print(line)
        }
    }

    private static func signatureAlgorithm(_ key: String) -> Certificate.SignatureAlgorithm {
        key == "p256" ? .ecdsaWithSHA256 : .sha256WithRSAEncryption
    }

    private static func measure(_ seconds: Double, _ body: () throws -> Void) throws -> Double {
        let start = DispatchTime.now()
        var count = 0
        while CRLBenchmark.elapsed(since: start) < seconds {
            for _ in 0..<100 { try body() }
            count += 100
        }
        return Double(count) / CRLBenchmark.elapsed(since: start)
    }

    private static func measureAsync(_ seconds: Double, _ body: () async throws -> Void) async throws -> Double {
        let start = DispatchTime.now()
        var count = 0
        while CRLBenchmark.elapsed(since: start) < seconds {
            for _ in 0..<20 { try await body() }
            count += 20
        }
        return Double(count) / CRLBenchmark.elapsed(since: start)
    }

    /// Signs/s from `openssl speed -seconds 2 ecdsap256|rsa2048` (single process).
    private static func opensslSignRate(_ key: String) throws -> Double? {
        let outputPath = NSTemporaryDirectory() + "rk-openssl-speed-\(UUID().uuidString).txt"
        defer { try? FileManager.default.removeItem(atPath: outputPath) }
        _ = try BenchmarkSpawn.run(
            ["/usr/bin/openssl", "speed", "-seconds", "2", key == "p256" ? "ecdsap256" : "rsa2048"],
            stdout: outputPath, stderr: "/dev/null")
        let text = try String(contentsOfFile: outputPath, encoding: .utf8)
        // Result rows look like "256 bits ecdsa (nistp256)   0.0000s   0.0001s  40000.0  12000.0"
        // or "rsa 2048 bits 0.000600s 0.000020s 1666.0 50000.0": sign/s is the second-last column.
        guard let row = text.split(separator: "\n").last(where: { $0.contains("nistp256") || $0.hasPrefix("rsa 2048") }) else {
            return nil
        }
        let columns = row.split(separator: " ").compactMap { Double($0) }
        return columns.count >= 2 ? columns[columns.count - 2] : nil
    }

    /// A DER OCSPRequest for one CertID with a nonce, as openssl sends it.
    private static func requestBytes(_ id: OCSPCertID, nonce: [UInt8]) -> [UInt8] {
        func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
            precondition(content.count < 0x10000)
            if content.count < 0x80 { return [tag, UInt8(content.count)] + content }
            if content.count < 0x100 { return [tag, 0x81, UInt8(content.count)] + content }
            return [tag, 0x82, UInt8(content.count >> 8), UInt8(content.count & 0xFF)] + content
        }
        let sha1: [UInt8] = [0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00]
        let serial = (id.serialNumber.bytes.first ?? 0) & 0x80 != 0 ? [0] + id.serialNumber.bytes : Array(id.serialNumber.bytes)
        let certID = tlv(0x30, tlv(0x30, sha1) + tlv(0x04, id.issuerNameHash) + tlv(0x04, id.issuerKeyHash) + tlv(0x02, serial))
        let nonceExtension = tlv(0x30, [0x06, 0x09, 0x2B, 0x06, 0x01, 0x05, 0x05, 0x07, 0x30, 0x01, 0x02] + tlv(0x04, tlv(0x04, nonce)))
        let tbs = tlv(0x30, tlv(0x30, certID)) + tlv(0xA2, tlv(0x30, nonceExtension))
        return tlv(0x30, tlv(0x30, tbs))
    }
}
