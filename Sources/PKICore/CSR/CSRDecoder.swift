import SwiftASN1
import X509

/// Reads PKCS#10 certification requests (RFC 2986) from DER or PEM and checks proof of possession.
public enum CSRDecoder {
    /// Largest CSR accepted; a 4096-bit RSA CSR with extensions is about 2 KB.
    public static let maximumSize = 64 * 1024

    /// Decodes a CSR. Truncated or garbage input → `PKIError.malformed` with the reason; a key
    /// swift-crypto refuses to load (RSA under 2048 bits, P-521) → `PKIError.unsupported` naming
    /// the key, so a caller can tell the requester what to fix.
    public static func decode(_ bytes: [UInt8]) throws -> CertificateSigningRequest {
        guard bytes.count <= maximumSize else { throw PKIError.malformed("CSR is \(bytes.count) bytes, over the \(maximumSize)-byte limit") }
        let der = try PEMCodec.derBytes(from: bytes, label: "CERTIFICATE REQUEST")
        let keyInfo = try subjectPublicKeyInfo(inCSR: der)
        do {
            return try CertificateSigningRequest(derEncoded: der)
        } catch {
            if let keyInfo, keyInfo.keyAlgorithm == nil {
                throw PKIError.unsupported("CSR key \(keyInfo) is not supported (RSA ≥ 2048 with e=65537, P-256 or P-384)")
            }
            throw PKIError.malformed("not a valid PKCS#10 CSR: \(error)")
        }
    }

    /// Throws `PKIError.invalidSignature` unless the CSR is signed by its own key (RFC 2986 §3).
    public static func verifyProofOfPossession(_ csr: CertificateSigningRequest) throws {
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            throw PKIError.invalidSignature("the CSR signature does not verify with its public key (no proof of possession)")
        }
    }

    /// Our own walk to the SPKI of a CSR, used to name an unsupported key. Throws `malformed` when
    /// the outer structure is not a CSR at all (truncation, garbage).
    static func subjectPublicKeyInfo(inCSR der: [UInt8]) throws -> PublicKeyInfo? {
        let root: ASN1Node
        do { root = try DER.parse(der) } catch {
            throw PKIError.malformed("CSR is not valid DER (truncated or garbage): \(error)")
        }
        // CertificationRequest ::= SEQUENCE { certificationRequestInfo SEQUENCE { version, subject, spki, ... }, ... }
        guard case .constructed(let outer) = root.content, let info = outer.first(where: { _ in true }),
            case .constructed(let infoChildren) = info.content
        else {
            throw PKIError.malformed("CSR is not a SEQUENCE containing a CertificationRequestInfo")
        }
        let fields = Array(infoChildren)
        guard fields.count >= 3 else { throw PKIError.malformed("CertificationRequestInfo has \(fields.count) fields, expected at least 3") }
        return try? PublicKeyInfo(spkiDER: Array(fields[2].encodedBytes))
    }
}
