import Crypto
import Foundation

/// Chunked AES-256-GCM in the STREAM construction (Hoang, Reyhanitabar, Rogaway, Vizár,
/// "Online Authenticated-Encryption and its Nonce-Reuse Misuse-Resistance", CRYPTO 2015 §7):
/// chunk *i* is sealed with the 96-bit nonce `prefix(7) ‖ i (u32 big-endian) ‖ final (0x00|0x01)`
/// and the 64 header bytes as associated data. So every chunk is authenticated together with
/// its position (reordering, duplicating or dropping a chunk fails), truncation at a chunk
/// boundary fails (the new last chunk was not sealed as final), and appending fails (the old
/// final chunk is not accepted in a non-final position). One key per archive (fresh salt), so
/// nonces never repeat under a key.
struct BackupStream {
    static let tagSize = 16
    let key: SymmetricKey
    let header: BackupHeader
    private let associatedData: [UInt8]

    init(key: SymmetricKey, header: BackupHeader) {
        self.key = key
        self.header = header
        self.associatedData = header.encoded
    }

    /// Bytes of one full sealed chunk in the file.
    var recordSize: Int { header.chunkSize + Self.tagSize }

    func nonce(index: Int, final: Bool) throws -> AES.GCM.Nonce {
        guard index >= 0, index <= Int(UInt32.max) else { throw ApplianceError.backupRejected("more than 2^32 chunks") }
        let counter = UInt32(index)
        let bytes =
            header.noncePrefix + [UInt8(counter >> 24), UInt8((counter >> 16) & 0xff), UInt8((counter >> 8) & 0xff), UInt8(counter & 0xff)]
            + [final ? 1 : 0]
        return try AES.GCM.Nonce(data: bytes)
    }

    /// Ciphertext ‖ tag of chunk `index`.
    func seal(_ plaintext: ArraySlice<UInt8>, index: Int, final: Bool) throws -> [UInt8] {
        let box = try AES.GCM.seal(plaintext, using: key, nonce: nonce(index: index, final: final), authenticating: associatedData)
        return Array(box.ciphertext) + Array(box.tag)
    }

    /// Opens chunk `index`; throws ``ApplianceError/backupRejected(_:)`` naming the chunk when the
    /// tag does not verify (wrong passphrase for chunk 0, alteration or truncation otherwise).
    func open(_ record: ArraySlice<UInt8>, index: Int, final: Bool, chunkCount: Int) throws -> [UInt8] {
        guard record.count >= Self.tagSize else {
            throw ApplianceError.backupRejected("chunk \(index) is shorter than its tag; the file is truncated")
        }
        do {
            let box = try AES.GCM.SealedBox(
                nonce: nonce(index: index, final: final), ciphertext: record.dropLast(Self.tagSize), tag: record.suffix(Self.tagSize))
            return Array(try AES.GCM.open(box, using: key, authenticating: associatedData))
        } catch {
            if index == 0 {
                throw ApplianceError.backupRejected(
                    "the archive does not decrypt: the passphrase is wrong (or, for a recipient archive, the --identity key), or the header or first chunk was altered"
                )
            }
            throw ApplianceError.backupRejected(
                "chunk \(index + 1) of \(chunkCount) failed authentication: the file was altered, truncated or damaged")
        }
    }
}
