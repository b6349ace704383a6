import Crypto
import Foundation
import PKICore
import X509
import _CryptoExtras

#if canImport(Glibc)
    import Glibc
#endif

/// docs/performance.md: a full CRL with 100 000 / 1 000 000 revoked entries, built, linted, signed and
/// verified by `CRLSigner`, against `openssl ca -gencrl` on an equivalent index.txt in the same
/// run. Prints wall time, CRL size and peak RSS for both, and the ratio.
///
/// Arguments: `--entries 100000,1000000` `--keys p256,rsa2048` `--no-peer`.
enum CRLBenchmark {
    static func run(arguments: [String]) async throws {
        let entryCounts = option("--entries", in: arguments)?.split(separator: ",").compactMap { Int($0) } ?? [100_000, 1_000_000]
        let keys = option("--keys", in: arguments)?.split(separator: ",").map(String.init) ?? ["p256", "rsa2048"]
        let runPeer = !arguments.contains("--no-peer")
        print("CRL benchmark (release build expected); target: ≤0.5 s for 100k, ≤3 s and ≤300 MB for 1M")
        for key in keys {
            let ca = try BenchmarkCA(key)
            for count in entryCounts.sorted() {
                resetPeakRSS()
                let baseline = currentRSS()
                let start = DispatchTime.now()
                let tbs = try TBSCertList(
                    issuerCertificate: ca.certificate, thisUpdate: ca.now, nextUpdate: ca.now + 86_400,
                    crlNumber: CRLNumber(UInt64(count)))
                let signer = try CRLSigner(issuerCertificate: ca.certificate, privateKey: ca.privateKey)
                let crl = try await signer.sign(tbs, additionalEntries: BenchmarkEntries(count: count, now: ca.now), previousCRLNumber: nil)
                let seconds = elapsed(since: start)
                let peak = peakRSS()
                var line = String(
                    format: "%@ %7d entries: rootkeeper %.3f s, %.1f MB CRL, peak RSS %.0f MB (start %.0f MB)",
                    key, count, seconds, Double(crl.derEncoded.count) / 1e6, peak, baseline)
                if runPeer {
                    let peer = try OpenSSLCRLPeer.run(ca: ca, count: count)
                    line += String(
                        format: " | openssl ca -gencrl %.3f s, peak RSS %.0f MB | speed-up %.1f×, memory %.2f×",
                        peer.seconds, peer.peakMB, peer.seconds / seconds, peak / peer.peakMB)
                }
                print(line)
            }
        }
    }

    static func option(_ name: String, in arguments: [String]) -> String? {
        guard let index = arguments.firstIndex(of: name), index + 1 < arguments.count else { return nil }
        return arguments[index + 1]
    }

    static func elapsed(since start: DispatchTime) -> Double {
        Double(DispatchTime.now().uptimeNanoseconds - start.uptimeNanoseconds) / 1e9
    }

    /// VmHWM of this process in MB.
    static func peakRSS() -> Double { procStatus("VmHWM:") }
    static func currentRSS() -> Double { procStatus("VmRSS:") }

    private static func procStatus(_ key: String) -> Double {
        guard let text = try? String(contentsOfFile: "/proc/self/status", encoding: .utf8),
            let line = text.split(separator: "\n").first(where: { $0.hasPrefix(key) }),
            let kB = Double(line.split(separator: " ").dropFirst().first ?? "")
        else { return 0 }
        return kB / 1024
    }

    /// Resets VmHWM to the current RSS (Linux: `echo 5 > /proc/self/clear_refs`).
    static func resetPeakRSS() {
        try? "5".write(toFile: "/proc/self/clear_refs", atomically: false, encoding: .utf8)
    }
}

/// A CA key and self-signed certificate for the benchmarks.
struct BenchmarkCA {
    let privateKey: Certificate.PrivateKey
    let keyPEM: String
    let certificate: Certificate
    let now: Date

    init(_ kind: String) throws {
        let now = Date()
        let privateKey: Certificate.PrivateKey
        switch kind {
        case "p256":
            let key = P256.Signing.PrivateKey()
            privateKey = Certificate.PrivateKey(key)
            keyPEM = key.pemRepresentation
        case "rsa2048":
            let key = try _RSA.Signing.PrivateKey(keySize: .bits2048)
            privateKey = Certificate.PrivateKey(key)
            keyPEM = key.pemRepresentation
        default:
            throw PKIError.invalidParameter("unknown key kind \(kind) (p256, rsa2048)")
        }
        let name = try DistinguishedName {
            OrganizationName("Rootkeeper Benchmarks")
            CommonName("Benchmark \(kind) CA")
        }
        certificate = try Certificate(
            version: .v3, serialNumber: Certificate.SerialNumber(), publicKey: privateKey.publicKey,
            notValidBefore: now - 3600, notValidAfter: now + 365 * 86_400, issuer: name, subject: name,
            signatureAlgorithm: kind == "p256" ? .ecdsaWithSHA256 : .sha256WithRSAEncryption,
            extensions: try Certificate.Extensions {
                Critical(BasicConstraints.isCertificateAuthority(maxPathLength: nil))
                Critical(KeyUsage(keyCertSign: true, cRLSign: true))
                SubjectKeyIdentifier(hash: privateKey.publicKey)
            },
            issuerPrivateKey: privateKey)
        self.now = now
        self.privateKey = privateKey
    }
}

/// Deterministic entries: 128-bit serials (SplitMix64), dates within the last 90 days, a mix of
/// reasons (a quarter without one), generated lazily as the encoder consumes them.
struct BenchmarkEntries: Sequence {
    let count: Int
    let now: Date

    static let reasons: [RevocationReason?] = [nil, .keyCompromise, .superseded, .cessationOfOperation]

    func makeIterator() -> AnyIterator<RevokedCertificate> {
        var index = 0
        return AnyIterator {
            guard index < count else { return nil }
            defer { index += 1 }
            return Self.entry(index, now: now)
        }
    }

    var underestimatedCount: Int { count }

    static func serial(_ index: Int) -> [UInt8] {
        func mix(_ x: UInt64) -> UInt64 {
            var z = x &+ 0x9E37_79B9_7F4A_7C15
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return z ^ (z >> 31)
        }
        // High half: a counter keeps serials unique; low half: pseudo-random bits.
        var bytes = withUnsafeBytes(of: (UInt64(index) | 0x4000_0000_0000_0000).bigEndian) { Array($0) }
        bytes += withUnsafeBytes(of: mix(UInt64(index)).bigEndian) { Array($0) }
        return bytes
    }

    static func entry(_ index: Int, now: Date) -> RevokedCertificate {
        // Force-try is safe: serials are 16 octets, within the 20-octet bound.
        try! RevokedCertificate(
            serialNumber: Certificate.SerialNumber(bytes: serial(index)),
            revocationDate: now - Double(index % 7_776_000), reason: reasons[index % reasons.count])
    }
}

/// Runs `openssl ca -gencrl` over an index.txt holding the same entries as the Rootkeeper run.
enum OpenSSLCRLPeer {
    struct Result {
        let seconds: Double
        let peakMB: Double
    }

    static func run(ca: BenchmarkCA, count: Int) throws -> Result {
        let dir = URL(fileURLWithPath: NSTemporaryDirectory()).appendingPathComponent("rk-crl-bench-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        defer { try? FileManager.default.removeItem(at: dir) }
        let keyPath = dir.appendingPathComponent("ca.key").path
        FileManager.default.createFile(atPath: keyPath, contents: Data(ca.keyPEM.utf8), attributes: [.posixPermissions: 0o600])
        try ca.certificate.serializeAsPEM().pemString.write(toFile: dir.appendingPathComponent("ca.pem").path, atomically: true, encoding: .utf8)
        try "\(String(format: "%08X", count))\n".write(toFile: dir.appendingPathComponent("crlnumber").path, atomically: true, encoding: .utf8)
        try """
        [ ca ]
        default_ca = bench
        [ bench ]
        dir = \(dir.path)
        database = $dir/index.txt
        crlnumber = $dir/crlnumber
        certificate = $dir/ca.pem
        private_key = $dir/ca.key
        default_md = sha256
        default_crl_days = 1
        unique_subject = no
        crl_extensions = crl_ext
        [ crl_ext ]
        authorityKeyIdentifier = keyid:always
        """.write(toFile: dir.appendingPathComponent("openssl.cnf").path, atomically: true, encoding: .utf8)

        // index.txt: status, expiry, revocation[,reason], serial, file, subject (tab-separated).
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "yyMMddHHmmss'Z'"
        let expiry = formatter.string(from: ca.now + 90 * 86_400)
        var index = ""
        index.reserveCapacity(count * 80)
        var dateCache: [Int: String] = [:]
        for i in 0..<count {
            let entry = BenchmarkEntries.entry(i, now: ca.now)
            let offset = i % 7_776_000
            let date = dateCache[offset] ?? formatter.string(from: entry.revocationDate)
            if dateCache.count < 100_000 { dateCache[offset] = date }
            let reason = entry.reason.map { ",\($0.name)" } ?? ""
            let serial = entry.serialNumber.bytes.map { String(format: "%02X", $0) }.joined()
            index += "R\t\(expiry)\t\(date)\(reason)\t\(serial)\tunknown\t/CN=agent-\(i)\n"
        }
        try index.write(toFile: dir.appendingPathComponent("index.txt").path, atomically: true, encoding: .utf8)

        let start = DispatchTime.now()
        let (status, usage) = try BenchmarkSpawn.run(
            [
                "/usr/bin/openssl", "ca", "-gencrl", "-batch", "-config", dir.appendingPathComponent("openssl.cnf").path,
                "-out", dir.appendingPathComponent("crl.pem").path,
            ],
            stdout: "/dev/null", stderr: dir.appendingPathComponent("stderr.txt").path)
        let seconds = CRLBenchmark.elapsed(since: start)
        guard status == 0 else {
            let stderr = (try? String(contentsOf: dir.appendingPathComponent("stderr.txt"), encoding: .utf8)) ?? ""
            throw PKIError.invalidParameter("openssl ca -gencrl failed: \(stderr)")
        }
        return Result(seconds: seconds, peakMB: Double(usage.ru_maxrss) / 1024)
    }
}
