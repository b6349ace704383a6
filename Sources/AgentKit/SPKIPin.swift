import Crypto
import Foundation
import X509

/// A `sha256/BASE64` pin of a SubjectPublicKeyInfo (the HPKP form of RFC 7469 §2.4): SHA-256 over
/// the DER SPKI of one certificate in the appliance's chain (server, intermediate or root).
public struct SPKIPin: Sendable, Hashable, CustomStringConvertible {
    public let digest: [UInt8]

    public init(_ text: String) throws {
        guard text.hasPrefix("sha256/"), let data = Data(base64Encoded: String(text.dropFirst(7))), data.count == 32 else {
            throw AgentError(.invalidInput, "pin must be sha256/ followed by the base64 of 32 bytes, got \(text)")
        }
        digest = [UInt8](data)
    }

    public init(of certificate: Certificate) {
        // HPKP-style pin (RFC 7469 §2.4): SHA-256 over the whole DER SubjectPublicKeyInfo.
        digest = certificate.publicKey.spkiSHA256
    }

    public var description: String { "sha256/" + Data(digest).base64EncodedString() }

    /// Whether any certificate of `chain` has this pin.
    public func matches(any chain: [Certificate]) -> Bool {
        chain.contains { SPKIPin(of: $0) == self }
    }
}
