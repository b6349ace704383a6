import Crypto
import Foundation

/// The hash algorithms accepted in an OCSP CertID (RFC 6960 §4.1.1): SHA-1, which every client
/// sends by default (RFC 5019 §2.1.1), and SHA-256.
public enum OCSPHashAlgorithm: String, Hashable, Sendable, CaseIterable {
    case sha1
    case sha256

    static let sha1OID = CompactDER.oid("1.3.14.3.2.26")
    static let sha256OID = CompactDER.oid("2.16.840.1.101.3.4.2.1")

    var oid: [UInt8] { self == .sha1 ? Self.sha1OID : Self.sha256OID }

    /// Output length in bytes.
    public var digestLength: Int { self == .sha1 ? 20 : 32 }

    /// `AlgorithmIdentifier { oid, NULL }` as openssl and most clients send it.
    var algorithmIdentifierDER: [UInt8] { CompactDER.wrap(tag: DERTag.sequence, oid + CompactDER.null) }

    func hash(_ bytes: some DataProtocol) -> [UInt8] {
        switch self {
        case .sha1: Array(Insecure.SHA1.hash(data: bytes))
        case .sha256: Array(SHA256.hash(data: bytes))
        }
    }

    /// Decodes an AlgorithmIdentifier; parameters may be NULL or absent (RFC 5754 §2).
    /// Throws `unsupportedAlgorithm` for any other hash.
    init(decoding element: CompactDERReader.Element) throws {
        guard element.tag == DERTag.sequence else { throw PKIError.malformed("CertID hashAlgorithm: expected SEQUENCE") }
        var reader = CompactDERReader(element.content)
        let oid = try reader.read(tag: DERTag.oid, "CertID hashAlgorithm OID")
        if let params = try reader.readIfPresent(tag: 0x05, "CertID hashAlgorithm parameters") {
            guard params.content.isEmpty else { throw PKIError.malformed("CertID hashAlgorithm: bad NULL") }
        }
        try reader.requireEnd("CertID hashAlgorithm")
        if oid.encoded.elementsEqual(Self.sha1OID) {
            self = .sha1
        } else if oid.encoded.elementsEqual(Self.sha256OID) {
            self = .sha256
        } else {
            throw PKIError.unsupported("OCSP CertID hash algorithm is not SHA-1 or SHA-256")
        }
    }
}
