import Foundation
import PKICore

/// Where the intermediate CA key lives (docs/architecture.md#trust-model).
public enum IntermediateKeyBackend: Sendable {
    /// An encrypted PKCS#8 file (scrypt, `ca/private/intermediate-ca.key`, 0600 in a 0700 directory).
    case file(passphrase: SecretBytes)
    /// A PKCS#11 token (as for `ceremony`): the key is generated on the token and never leaves it.
    case pkcs11(PKCS11KeyLocation, pin: SecretBytes)
}

/// A PKCS#11 module and token, named as for `ceremony` (`--module`, `--token`).
public struct PKCS11KeyLocation: Sendable, Equatable {
    /// Path of the PKCS#11 module (`.so`).
    public var modulePath: String
    /// Token label, serial or `pkcs11:` URI.
    public var token: String

    public init(modulePath: String, token: String) {
        self.modulePath = modulePath
        self.token = token
    }
}

/// The intermediate's subject and key type, chosen at `appliance init`.
public struct IntermediateRequest: Sendable, Equatable {
    public var commonName: String
    public var organization: String
    public var unit: String?
    public var country: String?
    /// P-256 by default (docs/profiles.md#intermediate-ca); P-384 and RSA are accepted.
    public var algorithm: KeyAlgorithm

    public init(commonName: String, organization: String, unit: String? = nil, country: String? = nil, algorithm: KeyAlgorithm = .p256) {
        self.commonName = commonName
        self.organization = organization
        self.unit = unit
        self.country = country
        self.algorithm = algorithm
    }
}
