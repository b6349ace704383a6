import Crypto
import Foundation
import PKICore
import X509

/// The certificate the agent pins in the appliance's chain (server, intermediate or root), in any
/// form of docs/identity.md: the agent pin `sha256/BASE64` (the HPKP form of RFC 7469 §2.4, SHA-256
/// over the DER SubjectPublicKeyInfo), or the certificate SHA-256 or SPKI SHA-256 in hex as the
/// root ceremony prints them. Parsed by PKICore's ``TrustAnchorIdentity``, the one parser of pins.
public struct SPKIPin: Sendable, Hashable, CustomStringConvertible {
    public let identity: TrustAnchorIdentity

    /// The SHA-256 the pin carries (an SPKI SHA-256, or a certificate SHA-256 given in hex).
    public var digest: [UInt8] { identity.digest }

    public init(_ text: String) throws {
        do {
            identity = try TrustAnchorIdentity(parsing: text, source: "--pin")
        } catch let error as PKIError {
            throw AgentError(.invalidInput, error.reason)
        }
    }

    public init(of certificate: Certificate) {
        // HPKP-style pin (RFC 7469 §2.4): SHA-256 over the whole DER SubjectPublicKeyInfo.
        identity = TrustAnchorIdentity(pinning: certificate, source: "--pin")
    }

    /// The pin as given (normalised), as stored in the agent's state and printed in messages.
    public var description: String { identity.description }

    /// Whether `certificate` is the pinned one.
    public func matches(_ certificate: Certificate) -> Bool { identity.match(certificate) != nil }

    /// Whether any certificate of `chain` has this pin.
    public func matches(any chain: [Certificate]) -> Bool {
        chain.contains { matches($0) }
    }
}
