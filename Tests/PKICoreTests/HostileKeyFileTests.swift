import Crypto
import Foundation
import SwiftASN1
import Testing
import X509

@testable import PKICore

/// Issue #16: an encrypted PKCS#8 key file whose PBES2 parameters ask scrypt for 4 GiB and
/// minutes of work (N = 2^20, r = 32, p = 16 — inside the old bounds) is refused before any key
/// derivation, with the reason, instead of stalling and exhausting the appliance at start-up.
@Suite("Hostile encrypted key files")
struct HostileKeyFileTests {
    /// An EncryptedPrivateKeyInfo (RFC 5958 §3) with the given scrypt parameters and junk ciphertext.
    static func keyFile(n: Int, r: Int, p: Int) throws -> [UInt8] {
        let parameters = PBES2Parameters(kdf: .scrypt(salt: Array(repeating: 1, count: 16), n: n, r: r, p: p), iv: Array(repeating: 2, count: 16))
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { info in
            try parameters.serialize(into: &info)
            try info.serialize(ASN1OctetString(contentBytes: Array(repeating: 3, count: 48)[...]))
        }
        return Array(PEMDocument(type: EncryptedPrivateKey.pemLabel, derBytes: serializer.serializedBytes).pemString.utf8)
    }

    @Test(
        "scrypt parameters needing 4 GiB or p = 16 are refused at once, naming the cost; the accepted maximum still derives",
        arguments: [
            (1 << 20, 32, 16), (1 << 20, 32, 1), (1 << 20, 8, 1), (1 << 14, 8, 16),
        ])
    func costBomb(n: Int, r: Int, p: Int) throws {
        let file = try Self.keyFile(n: n, r: r, p: p)
        let started = ContinuousClock.now
        let error = #expect(throws: PKIError.self) { try EncryptedPrivateKey.decrypt(file, passphrase: Array("pw".utf8)) }
        #expect(ContinuousClock.now - started < .seconds(1), "refused only after deriving")
        #expect(error?.code == .invalidParameter, "\(String(describing: error))")
        #expect(error?.reason.contains("scrypt cost") == true, "\(String(describing: error))")
    }

    @Test("the cost openssl -scrypt and our writer use (N = 2^14, r = 8, p = 1) gets as far as the passphrase check")
    func defaultCostAccepted() throws {
        let file = try Self.keyFile(n: 1 << 14, r: 8, p: 1)
        let error = #expect(throws: PKIError.self) { try EncryptedPrivateKey.decrypt(file, passphrase: Array("pw".utf8)) }
        #expect(error?.code == .decryptionFailure && error?.reason.contains("passphrase") == true, "\(String(describing: error))")
    }
}
