import Foundation
import PKICore
import TestSupport
import Testing
import X509

@Suite("Serial numbers and key fingerprints")
struct SerialAndKeyTests {
    @Test("A fixed clock and a seeded random source give the same serials and certificates twice")
    func repeatableSerials() async throws {
        let key = try KeyAlgorithm.p256.generatePrivateKey()
        let instant = Date(timeIntervalSince1970: 1_800_000_000)
        func issueTwo() throws -> [[UInt8]] {
            let issuer = try CertificateIssuer.selfSigned(privateKey: key, clock: FixedClock(instant), random: SeededRandomSource(seed: 42))
            let profile = try RootCAProfile(subject: SubjectName.root(name: "Seeded", organization: "O", unit: nil, country: nil))
            return try (0..<2).map { _ in try issuer.prepare(profile: profile, subjectPublicKey: key.publicKey).tbsCertificateBytes }
        }
        let first = try issueTwo()
        let second = try issueTwo()
        #expect(first == second)
        #expect(first[0] != first[1])  // consecutive serials differ
    }

    @Test("Generated serials are 16 positive, non-zero octets")
    func serialForm() throws {
        let generator = SerialNumberGenerator(random: SystemRandomSource())
        for _ in 0..<200 {
            // `bytes` is the magnitude without leading zeros; 16 drawn octets with the top bit
            // cleared means at most 16 octets, and a full-length one has its top bit clear, so the
            // DER INTEGER needs no sign octet and stays far below 20 octets.
            let bytes = Array(try generator.next().bytes)
            #expect(bytes.count <= 16 && bytes.count >= 9)
            #expect(bytes.count < 16 || bytes[0] & 0x80 == 0)
            #expect(bytes.contains { $0 != 0 })
        }
    }

    struct ZeroRandom: RandomSource { func bytes(_ count: Int) -> [UInt8] { [UInt8](repeating: 0, count: count) } }

    @Test("A random source that only yields zeros is refused rather than producing serial 0")
    func zeroRandomRefused() {
        let error = #expect(throws: PKIError.self) { try SerialNumberGenerator(random: ZeroRandom()).next() }
        #expect(
            error?.code == .invalidParameter && error?.reason == "random source produced only zero serial numbers", "\(String(describing: error))")
    }

    @Test("The SPKI pin equals the one openssl computes", arguments: [KeyAlgorithm.p256, .p384, .rsa2048])
    func spkiPinMatchesOpenSSL(algorithm: KeyAlgorithm) throws {
        let key = try algorithm.generatePrivateKey()
        let reread = try PEMCodec.publicKey(from: Array(try PEMCodec.pem(key.publicKey).utf8))
        #expect(reread.spkiPin == key.publicKey.spkiPin)
        #expect(key.publicKey.keyAlgorithm == algorithm)
        #expect(key.publicKey.spkiPin.hasPrefix("sha256/"))
        let pipeline = try ExternalTool("sh").run(
            [
                "-c", "openssl pkey -pubin -outform DER | openssl dgst -sha256 -binary | openssl base64",
            ], stdin: Data(try PEMCodec.pem(key.publicKey).utf8))
        #expect("sha256/" + pipeline.stdout.trimmingCharacters(in: .whitespacesAndNewlines) == key.publicKey.spkiPin)
    }
}
