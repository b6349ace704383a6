import Crypto
import Foundation
import X509

/// The identifiers of one certificate that people copy from one step to the next
/// (docs/identity.md): the root ceremony prints them, the paper log records them, and every later
/// step that asks for a fingerprint or a pin accepts any of them (``TrustAnchorIdentity``).
public struct CertificateIdentifiers: Sendable, Hashable {
    /// SHA-256 of the certificate's DER.
    public let certificateSHA256: [UInt8]
    /// SHA-256 of the DER SubjectPublicKeyInfo (RFC 5280 §4.1.2.7).
    public let spkiSHA256: [UInt8]

    public init(_ certificate: Certificate) throws {
        certificateSHA256 = Array(SHA256.hash(data: try PEMCodec.der(certificate)))
        spkiSHA256 = certificate.publicKey.spkiSHA256
    }

    /// The agent pin: the SPKI SHA-256 in base64 after `sha256/` (RFC 7469 §2.4 form).
    public var agentPin: String { TrustAnchorIdentity.Form.agentPin.render(spkiSHA256) }

    /// The three lines every tool prints for a root, in one format (docs/identity.md).
    public var lines: [String] {
        [
            "certificate SHA-256: \(Hex.encode(certificateSHA256))",
            "SPKI SHA-256:        \(Hex.encode(spkiSHA256))",
            "agent pin:           \(agentPin)",
        ]
    }
}

/// A fingerprint or pin that a person typed (from the paper log, a printout, a runbook) to say
/// which certificate or key to trust: the one parser for every such flag and plan key
/// (docs/identity.md). Accepted forms, each named in messages:
///
/// - 64 hex digits (either case, `:` or space separators allowed): the certificate SHA-256 or
///   the SPKI SHA-256 the ceremony printed. Both are SHA-256 outputs over different DER
///   structures; a value is compared with both and the message names the one it matched.
/// - `sha256/BASE64`: the agent pin, the SPKI SHA-256 in base64.
///
/// A mismatch is described with the expected value and where it came from, never with the value
/// found on the untrusted side (``mismatch(_:)``): a person who reads "found X" copies X.
public struct TrustAnchorIdentity: Sendable, Hashable, CustomStringConvertible {
    /// How the value was written.
    public enum Form: String, Sendable, Hashable {
        /// 64 hex digits: a certificate SHA-256 or an SPKI SHA-256.
        case hexSHA256 = "SHA-256 in hex"
        /// `sha256/BASE64`: an SPKI SHA-256.
        case agentPin = "agent pin (sha256/BASE64)"

        func render(_ digest: [UInt8]) -> String {
            switch self {
            case .hexSHA256: Hex.encode(digest)
            case .agentPin: "sha256/" + Data(digest).base64EncodedString()
            }
        }
    }

    /// Which identifier of a certificate a value matched.
    public enum Match: String, Sendable, Hashable {
        case certificateSHA256 = "certificate SHA-256"
        case spkiSHA256 = "SPKI SHA-256"
    }

    /// The 32 bytes.
    public let digest: [UInt8]
    /// How it was written.
    public let form: Form
    /// Where it came from, for messages: e.g. `--root-fingerprint (the root ceremony's paper log)`.
    public let source: String

    /// Parses `text` from `source`. Anything but the two forms is refused with the forms named.
    public init(parsing text: String, source: String) throws {
        let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
        self.source = source
        if trimmed.lowercased().hasPrefix("sha256/") {
            guard let data = Data(base64Encoded: String(trimmed.dropFirst(7))), data.count == 32 else {
                throw PKIError.invalidParameter(
                    "\(source): '\(trimmed)' is not an agent pin: it must be sha256/ followed by the base64 of 32 bytes (44 characters ending in '=')"
                )
            }
            digest = Array(data)
            form = .agentPin
            return
        }
        let hex = trimmed.replacingOccurrences(of: ":", with: "").replacingOccurrences(of: " ", with: "")
        guard hex.utf8.count == 64, let bytes = Hex.decode(hex) else {
            throw PKIError.invalidParameter(
                "\(source): expected the 64 hex digits of a SHA-256 (certificate SHA-256 or SPKI SHA-256, colons allowed) "
                    + "or an agent pin sha256/BASE64, as the root ceremony printed them; got \(trimmed.count) characters that are neither")
        }
        digest = bytes
        form = .hexSHA256
    }

    /// The identity of `certificate`'s key as the agent pin (for code that pins a known certificate).
    public init(pinning certificate: Certificate, source: String) {
        digest = certificate.publicKey.spkiSHA256
        form = .agentPin
        self.source = source
    }

    /// The value as it was written (normalised: lower-case hex without separators, or the pin).
    public var description: String { form.render(digest) }

    /// What this value can stand for: an agent pin is an SPKI SHA-256; hex is either.
    public var candidates: [Match] { form == .agentPin ? [.spkiSHA256] : [.certificateSHA256, .spkiSHA256] }

    /// The identifier of `certificate` this value matched, or nil.
    public func match(_ certificate: Certificate) -> Match? {
        if candidates.contains(.spkiSHA256), certificate.publicKey.spkiSHA256 == digest { return .spkiSHA256 }
        if candidates.contains(.certificateSHA256), let identifiers = try? CertificateIdentifiers(certificate),
            identifiers.certificateSHA256 == digest
        {
            return .certificateSHA256
        }
        return nil
    }

    /// Whether this value names the key whose SPKI SHA-256 is `spkiSHA256` (for a key without a
    /// certificate: a CSR, a key in a token). A certificate SHA-256 cannot name a bare key.
    public func matchesKey(spkiSHA256: [UInt8]) -> Bool { spkiSHA256 == digest }

    /// The sentence for a refusal: `subject` (e.g. "the bundle's root certificate") is not the one
    /// expected; the expected value and its source are named, the value found is not.
    /// With `keyOnly` (a CSR, a key in a token) the value is named as an SPKI SHA-256.
    public func mismatch(_ subject: String, keyOnly: Bool = false) -> String {
        let what = keyOnly ? Match.spkiSHA256.rawValue : candidates.map(\.rawValue).joined(separator: " or ")
        return "\(subject) does not match the expected \(what) \(description) (from \(source)); "
            + "its own fingerprint is not shown, since it comes from the media being checked: compare the expected value with the paper log, never copy one from the media"
    }
}
