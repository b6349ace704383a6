import Foundation
import SwiftASN1
import X509

/// A token-held signing key that reconnects when its token comes back (see
/// ``PKCS11KeyConnection``). Signs exactly like ``PKCS11PrivateKey``; while the token is away
/// every signature fails with ``PKCS11Error/Code/tokenUnavailable`` — never a fallback key.
public struct PKCS11ReconnectingPrivateKey: CustomPrivateKey, @unchecked Sendable {
    public let connection: PKCS11KeyConnection
    public let publicKey: Certificate.PublicKey
    public let label: String
    let curve: PKCS11KeySpec.Curve?

    init(connection: PKCS11KeyConnection, template: PKCS11PrivateKey) {
        self.connection = connection
        self.publicKey = template.publicKey
        self.label = template.label
        self.curve = template.curve
    }

    public var defaultSignatureAlgorithm: Certificate.SignatureAlgorithm { PKCS11PrivateKey.defaultAlgorithm(curve: curve) }

    public var supportedSignatureAlgorithms: [Certificate.SignatureAlgorithm] { PKCS11PrivateKey.supportedAlgorithms(curve: curve) }

    public func signSynchronously(bytes: some DataProtocol, signatureAlgorithm: Certificate.SignatureAlgorithm) throws -> Certificate.Signature {
        let message = Array(bytes)
        return try connection.withKeySynchronously { key in
            try key.signSynchronously(bytes: message, signatureAlgorithm: signatureAlgorithm)
        }
    }

    public func signAsynchronously(
        bytes: some DataProtocol & Sendable, signatureAlgorithm: Certificate.SignatureAlgorithm
    ) async throws -> Certificate.Signature {
        let message = Array(bytes)
        return try await connection.withKey { key in
            try await key.signAsynchronously(bytes: message, signatureAlgorithm: signatureAlgorithm)
        }
    }

    // MARK: PEMSerializable: the key never leaves the token.

    public static var defaultPEMDiscriminator: String { "PRIVATE KEY" }

    public func serialize(into coder: inout DER.Serializer) throws {
        throw PKCS11Error(.notExportable, "the private key \"\(label)\" lives in a PKCS#11 token and is not exportable")
    }

    // MARK: Hashable: identity is the connection.

    public static func == (lhs: Self, rhs: Self) -> Bool { lhs.connection === rhs.connection }

    public func hash(into hasher: inout Hasher) { hasher.combine(ObjectIdentifier(connection)) }
}
