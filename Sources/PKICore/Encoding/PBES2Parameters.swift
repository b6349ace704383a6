import SwiftASN1

/// The PBES2 parameters (RFC 8018 §A.4) we write and read, with scrypt (RFC 7914 §7) or PBKDF2
/// (RFC 8018 §A.2, read only) as KDF and AES-256-CBC (RFC 8018 §B.2.5 / NIST) as cipher:
///
/// ```
/// PBES2-params ::= SEQUENCE { keyDerivationFunc AlgorithmIdentifier, encryptionScheme AlgorithmIdentifier }
/// scrypt-params ::= SEQUENCE { salt OCTET STRING, costParameter INTEGER, blockSize INTEGER,
///                              parallelizationParameter INTEGER, keyLength INTEGER OPTIONAL }
/// PBKDF2-params ::= SEQUENCE { salt OCTET STRING, iterationCount INTEGER, keyLength INTEGER OPTIONAL,
///                              prf AlgorithmIdentifier DEFAULT hmacWithSHA1 }
/// ```
struct PBES2Parameters: Hashable {
    static let pbes2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 13]
    static let scrypt: ASN1ObjectIdentifier = [1, 3, 6, 1, 4, 1, 11591, 4, 11]
    static let pbkdf2: ASN1ObjectIdentifier = [1, 2, 840, 113549, 1, 5, 12]
    static let hmacWithSHA256: ASN1ObjectIdentifier = [1, 2, 840, 113549, 2, 9]
    static let aes256CBC: ASN1ObjectIdentifier = [2, 16, 840, 1, 101, 3, 4, 1, 42]

    enum KDF: Hashable {
        case scrypt(salt: [UInt8], n: Int, r: Int, p: Int)
        case pbkdf2SHA256(salt: [UInt8], iterations: Int)
    }

    var kdf: KDF
    var iv: [UInt8]

    /// Serialises the full `encryptionAlgorithm` AlgorithmIdentifier (OID pbes2 + params).
    func serialize(into coder: inout DER.Serializer) throws {
        try coder.appendConstructedNode(identifier: .sequence) { algorithm in
            try algorithm.serialize(Self.pbes2)
            try algorithm.appendConstructedNode(identifier: .sequence) { params in
                try params.appendConstructedNode(identifier: .sequence) { kdfNode in
                    switch kdf {
                    case .scrypt(let salt, let n, let r, let p):
                        try kdfNode.serialize(Self.scrypt)
                        try kdfNode.appendConstructedNode(identifier: .sequence) { scrypt in
                            try scrypt.serialize(ASN1OctetString(contentBytes: salt[...]))
                            try scrypt.serialize(n)
                            try scrypt.serialize(r)
                            try scrypt.serialize(p)
                            try scrypt.serialize(32)
                        }
                    case .pbkdf2SHA256(let salt, let iterations):
                        try kdfNode.serialize(Self.pbkdf2)
                        try kdfNode.appendConstructedNode(identifier: .sequence) { pbkdf2 in
                            try pbkdf2.serialize(ASN1OctetString(contentBytes: salt[...]))
                            try pbkdf2.serialize(iterations)
                            try pbkdf2.appendConstructedNode(identifier: .sequence) { prf in
                                try prf.serialize(Self.hmacWithSHA256)
                                try prf.serialize(ASN1Null())
                            }
                        }
                    }
                }
                try params.appendConstructedNode(identifier: .sequence) { cipher in
                    try cipher.serialize(Self.aes256CBC)
                    try cipher.serialize(ASN1OctetString(contentBytes: iv[...]))
                }
            }
        }
    }

    /// Parses an `encryptionAlgorithm` AlgorithmIdentifier; anything but PBES2 with scrypt or
    /// PBKDF2-HMAC-SHA256 and AES-256-CBC is refused as unsupported.
    init(algorithmIdentifier node: ASN1Node) throws {
        var kdf: KDF?
        var iv: [UInt8] = []
        try DER.sequence(node, identifier: .sequence) { algorithm in
            guard let oidNode = algorithm.next(), try ASN1ObjectIdentifier(derEncoded: oidNode) == Self.pbes2 else {
                throw PKIError.unsupported("encrypted key is not PBES2 (use openssl pkcs8 -topk8 -scrypt or -v2 aes-256-cbc)")
            }
            guard let paramsNode = algorithm.next() else { throw PKIError.malformed("PBES2 parameters missing") }
            try DER.sequence(paramsNode, identifier: .sequence) { params in
                guard let kdfNode = params.next(), let cipherNode = params.next() else {
                    throw PKIError.malformed("PBES2 parameters incomplete")
                }
                kdf = try Self.parseKDF(kdfNode)
                try DER.sequence(cipherNode, identifier: .sequence) { cipher in
                    guard let cipherOID = cipher.next(), try ASN1ObjectIdentifier(derEncoded: cipherOID) == Self.aes256CBC else {
                        throw PKIError.unsupported("encrypted key cipher is not AES-256-CBC")
                    }
                    guard let ivNode = cipher.next() else { throw PKIError.malformed("AES-CBC IV missing") }
                    iv = Array(try ASN1OctetString(derEncoded: ivNode).bytes)
                }
            }
        }
        guard let kdf, iv.count == 16 else { throw PKIError.malformed("PBES2 parameters incomplete (IV must be 16 octets)") }
        self.kdf = kdf
        self.iv = iv
    }

    init(kdf: KDF, iv: [UInt8]) {
        self.kdf = kdf
        self.iv = iv
    }

    private static func parseKDF(_ node: ASN1Node) throws -> KDF {
        try DER.sequence(node, identifier: .sequence) { kdfNode in
            guard let oidNode = kdfNode.next(), let paramsNode = kdfNode.next() else { throw PKIError.malformed("KDF parameters missing") }
            let oid = try ASN1ObjectIdentifier(derEncoded: oidNode)
            return try DER.sequence(paramsNode, identifier: .sequence) { params in
                guard let saltNode = params.next() else { throw PKIError.malformed("KDF salt missing") }
                let salt = Array(try ASN1OctetString(derEncoded: saltNode).bytes)
                switch oid {
                case Self.scrypt:
                    guard let nNode = params.next(), let rNode = params.next(), let pNode = params.next() else {
                        throw PKIError.malformed("scrypt parameters incomplete")
                    }
                    let n = try Int(derEncoded: nNode)
                    let r = try Int(derEncoded: rNode)
                    let p = try Int(derEncoded: pNode)
                    if let keyLengthNode = params.next(), try Int(derEncoded: keyLengthNode) != 32 {
                        throw PKIError.unsupported("scrypt key length must be 32 for AES-256")
                    }
                    return .scrypt(salt: salt, n: n, r: r, p: p)
                case Self.pbkdf2:
                    guard let iterationsNode = params.next() else { throw PKIError.malformed("PBKDF2 iteration count missing") }
                    let iterations = try Int(derEncoded: iterationsNode)
                    var sawSHA256 = false
                    while let next = params.next() {
                        if next.identifier == .integer {
                            guard try Int(derEncoded: next) == 32 else { throw PKIError.unsupported("PBKDF2 key length must be 32") }
                        } else {
                            sawSHA256 = try DER.sequence(next, identifier: .sequence) { prf in
                                guard let prfOID = prf.next() else { return false }
                                _ = prf.next()
                                return try ASN1ObjectIdentifier(derEncoded: prfOID) == Self.hmacWithSHA256
                            }
                        }
                    }
                    guard sawSHA256 else { throw PKIError.unsupported("PBKDF2 PRF must be hmacWithSHA256") }
                    return .pbkdf2SHA256(salt: salt, iterations: iterations)
                default:
                    throw PKIError.unsupported("key derivation \(oid) is not scrypt or PBKDF2")
                }
            }
        }
    }
}
