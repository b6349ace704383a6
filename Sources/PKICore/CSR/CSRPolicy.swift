import X509

/// Decides whether a CSR may be signed (docs/profiles.md#csr-policy): key type and size, subject format, proof of
/// possession, and what the requested extensions say. Returns a ``CSRDecision``; throws only when
/// the input cannot be evaluated at all (malformed DER/PEM).
public struct CSRPolicy: Sendable {
    /// What the CSR is for.
    public enum Purpose: Sendable, Hashable {
        /// An agent: identity in the SAN (`docs/identity.md`). Whether that identity is the one a
        /// renewal may ask for is the registration authority's decision, not the policy's.
        case agent
        /// An intermediate CA at a root ceremony: non-empty subject.
        case intermediateCA
    }

    public let purpose: Purpose
    public let allowedAlgorithms: Set<KeyAlgorithm>

    public init(purpose: Purpose, allowedAlgorithms: Set<KeyAlgorithm> = Set(KeyAlgorithm.allCases)) {
        self.purpose = purpose
        self.allowedAlgorithms = allowedAlgorithms
    }

    /// Decodes (DER or PEM) and evaluates. Throws `PKIError.malformed` for undecodable input.
    public func evaluate(_ bytes: [UInt8]) throws -> CSRDecision {
        let csr: CertificateSigningRequest
        do {
            csr = try CSRDecoder.decode(bytes)
        } catch let error as PKIError where error.code == .unsupportedAlgorithm {
            return .reject(reason: error.reason)
        }
        return evaluate(csr)
    }

    /// Evaluates a decoded CSR.
    public func evaluate(_ csr: CertificateSigningRequest) -> CSRDecision {
        let keyInfo: PublicKeyInfo
        do { keyInfo = try PublicKeyInfo(spkiDER: csr.publicKey.spkiDER) } catch {
            return .reject(reason: "the CSR public key cannot be parsed")
        }
        if case .rsa(let bits, let exponent) = keyInfo.kind {
            if bits < 2048 { return .reject(reason: "RSA key of \(bits) bits is below the 2048-bit minimum") }
            if exponent != 65537 { return .reject(reason: "RSA public exponent must be 65537, got \(exponent.map(String.init) ?? "a huge value")") }
        }
        guard let algorithm = keyInfo.keyAlgorithm else {
            return .reject(reason: "\(keyInfo) is not supported (RSA-2048/3072/4096, P-256 or P-384)")
        }
        guard allowedAlgorithms.contains(algorithm) else {
            return .reject(reason: "\(algorithm) keys are not allowed by this policy")
        }
        guard csr.publicKey.isValidSignature(csr.signature, for: csr) else {
            return .reject(reason: "the CSR signature does not verify with its public key (no proof of possession)")
        }
        let requested: [RequestedExtension]
        do { requested = try RequestedExtensionReport.extensions(of: csr) } catch {
            return .reject(reason: "the CSR's extension request does not decode: \(error)")
        }
        var identity: AgentIdentity?
        switch purpose {
        case .agent:
            // The identity is the SAN's (docs/identity.md); a CN, if any, must agree with it.
            do { identity = try AgentIdentity(requestedBy: csr) } catch let error as PKIError {
                return .reject(
                    reason: "the CSR does not name an agent (DNS:{hostname} and URI:urn:uuid:{uuid} in its subjectAltName): \(error.reason)")
            } catch {
                return .reject(reason: "the CSR does not name an agent: \(error)")
            }
            if RequestedExtensionReport.requestsCA(csr) {
                return .reject(reason: "an agent CSR must not request basicConstraints CA:TRUE")
            }
        case .intermediateCA:
            if csr.subject.isEmpty { return .reject(reason: "an intermediate CA CSR needs a non-empty subject") }
        }
        return .accept(
            CSRReview(
                csr: csr, keyAlgorithm: algorithm, spkiSHA256Hex: csr.publicKey.spkiSHA256Hex,
                agentIdentity: identity, requestedExtensions: requested))
    }
}
