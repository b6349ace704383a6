import X509

/// Identifies the certificate a status is asked for / given for (RFC 6960 §4.1.1).
///
/// ```
/// CertID          ::=     SEQUENCE {
///     hashAlgorithm       AlgorithmIdentifier,
///     issuerNameHash      OCTET STRING, -- Hash of issuer's DN
///     issuerKeyHash       OCTET STRING, -- Hash of issuer's public key
///     serialNumber        CertificateSerialNumber }
/// ```
///
/// The hashes must have the algorithm's digest length, and the serial number at most 20
/// octets; the initializer enforces both.
public struct OCSPCertID: Hashable, Sendable {
    public let hashAlgorithm: OCSPHashAlgorithm
    /// Hash of the DER of the issuer's subject name.
    public let issuerNameHash: [UInt8]
    /// Hash of the issuer's subjectPublicKey BIT STRING value (without tag, length, unused-bits).
    public let issuerKeyHash: [UInt8]
    public let serialNumber: Certificate.SerialNumber

    /// Throws `invalidParameter` when a hash has the wrong length or the serial exceeds 20 octets.
    public init(
        hashAlgorithm: OCSPHashAlgorithm, issuerNameHash: [UInt8], issuerKeyHash: [UInt8],
        serialNumber: Certificate.SerialNumber
    ) throws {
        guard issuerNameHash.count == hashAlgorithm.digestLength, issuerKeyHash.count == hashAlgorithm.digestLength else {
            throw PKIError.invalidParameter("CertID hashes must be \(hashAlgorithm.digestLength) bytes for \(hashAlgorithm)")
        }
        guard serialNumber.bytes.count <= 20 else {
            throw PKIError.invalidParameter("CertID serial number longer than 20 octets (RFC 5280 §4.1.2.2)")
        }
        self.hashAlgorithm = hashAlgorithm
        self.issuerNameHash = issuerNameHash
        self.issuerKeyHash = issuerKeyHash
        self.serialNumber = serialNumber
    }

    /// The DER CertID SEQUENCE.
    var derEncoded: [UInt8] {
        var content = hashAlgorithm.algorithmIdentifierDER
        CompactDER.appendTLV(tag: DERTag.octetString, content: issuerNameHash, to: &content)
        CompactDER.appendTLV(tag: DERTag.octetString, content: issuerKeyHash, to: &content)
        CompactDER.appendUnsignedInteger(serialNumber.bytes, to: &content)
        return CompactDER.wrap(tag: DERTag.sequence, content)
    }

    init(decoding element: CompactDERReader.Element) throws {
        guard element.tag == DERTag.sequence else { throw PKIError.malformed("CertID: expected SEQUENCE") }
        var reader = CompactDERReader(element.content)
        let algorithm = try OCSPHashAlgorithm(decoding: reader.read("CertID hashAlgorithm"))
        let nameHash = try reader.read(tag: DERTag.octetString, "CertID issuerNameHash")
        let keyHash = try reader.read(tag: DERTag.octetString, "CertID issuerKeyHash")
        let serial = try CompactDERReader.unsignedMagnitude(
            reader.read(tag: DERTag.integer, "CertID serialNumber").content, "CertID serialNumber")
        try reader.requireEnd("CertID")
        do {
            try self.init(
                hashAlgorithm: algorithm, issuerNameHash: Array(nameHash.content), issuerKeyHash: Array(keyHash.content),
                serialNumber: Certificate.SerialNumber(bytes: serial))
        } catch let error as PKIError {
            throw PKIError.malformed(error.reason)
        }
    }
}
