import X509

/// Who an agent is: its host name and its UUID. See `docs/identity.md`.
///
/// The identity lives in the subjectAltName — `DNS:{hostname}` and `URI:urn:uuid:{uuid}` — and is
/// always read from there (RFC 6125 §6.4.4: relying parties match the SAN, not the CN). The
/// subject carries `CN={hostname}` only when the host name fits ub-common-name (64, RFC 5280
/// Appendix A); longer names (up to 253 octets) get no CN. The CN is never parsed for identity,
/// so nothing is ever matched against a truncated value.
///
/// Certificates and CSRs of the earlier scheme (`CN=agent-{hostname}-{uuid}`, which exceeded 64
/// characters for every host name over 21) still carry the same two SANs, so they are read the
/// same way; their legacy CN is accepted only when it names the same identity as the SANs.
public struct AgentIdentity: Sendable, Hashable, CustomStringConvertible {
    /// The canonical (lower-case) host name: DNS names compare case-insensitively (RFC 4343 §3).
    public let hostname: String
    /// The lower-case RFC 4122 UUID.
    public let uuid: String

    /// RFC 5280 Appendix A `ub-common-name` (X.520): at most 64 characters.
    public static let commonNameUpperBound = 64
    static let legacyPrefix = "agent-"
    static let uuidURNPrefix = "urn:uuid:"

    /// Validates the host name (RFC 1123, see ``NameSyntax/isValidHostname(_:)``), canonicalises it
    /// to lower case, and validates the UUID (RFC 4122, lower case).
    public init(hostname: String, uuid: String) throws {
        guard let canonical = NameSyntax.canonicalHostname(hostname) else {
            throw PKIError.invalidParameter(NameSyntax.invalidHostnameReason(hostname))
        }
        guard NameSyntax.isValidUUID(uuid) else {
            throw PKIError.invalidParameter("'\(uuid)' is not a lowercase RFC 4122 UUID")
        }
        self.hostname = canonical
        self.uuid = uuid
    }

    /// Parses a legacy common name `agent-{hostname}-{uuid}`. The host name may contain hyphens,
    /// so the UUID is the fixed-length (36 character) tail.
    public init(legacyCommonName commonName: String) throws {
        guard commonName.hasPrefix(Self.legacyPrefix) else {
            throw PKIError.policy("common name '\(commonName)' does not start with 'agent-'")
        }
        let rest = commonName.dropFirst(Self.legacyPrefix.count)
        guard rest.count > 37, rest.dropLast(36).last == "-" else {
            throw PKIError.policy("common name '\(commonName)' is not agent-{hostname}-{uuid}")
        }
        do {
            try self.init(hostname: String(rest.dropLast(37)), uuid: String(rest.suffix(36)))
        } catch let error as PKIError {
            throw PKIError.policy("common name '\(commonName)': \(error.reason)")
        }
    }

    /// The identity named by a subjectAltName: exactly one `dNSName` and exactly one
    /// `urn:uuid:` URI, and nothing else.
    public init(subjectAlternativeNames names: SubjectAlternativeNames) throws {
        var hostnames: [String] = []
        var uuids: [String] = []
        for name in names {
            switch name {
            case .dnsName(let dns): hostnames.append(dns)
            case .uniformResourceIdentifier(let uri) where uri.hasPrefix(Self.uuidURNPrefix):
                uuids.append(String(uri.dropFirst(Self.uuidURNPrefix.count)))
            default:
                throw PKIError.policy("the subjectAltName may only hold the agent's DNS name and urn:uuid URI, found \(name)")
            }
        }
        guard hostnames.count == 1, let hostname = hostnames.first else {
            throw PKIError.policy("the subjectAltName must hold exactly one DNS name, found \(hostnames.count)")
        }
        guard uuids.count == 1, let uuid = uuids.first else {
            throw PKIError.policy("the subjectAltName must hold exactly one urn:uuid URI, found \(uuids.count)")
        }
        do { try self.init(hostname: hostname, uuid: uuid) } catch let error as PKIError {
            throw PKIError.policy("subjectAltName: \(error.reason)")
        }
    }

    /// The identity of a subject and its subjectAltName. The SAN decides; a subject CN, if any,
    /// must be the host name (any case) or the legacy `agent-{hostname}-{uuid}` of the same
    /// identity. Without a SAN only the legacy CN can name an agent.
    public init(subject: DistinguishedName, subjectAlternativeNames names: SubjectAlternativeNames?) throws {
        let commonNames = subject.flatMap { $0 }.filter { $0.type == .RDNAttributeType.commonName }.map { String(describing: $0.value) }
        guard commonNames.count <= 1 else { throw PKIError.policy("the subject has \(commonNames.count) common names; at most one is allowed") }
        guard let names else {
            guard let commonName = commonNames.first else {
                throw PKIError.policy("no subjectAltName names the agent (DNS:{hostname}, URI:urn:uuid:{uuid})")
            }
            self = try AgentIdentity(legacyCommonName: commonName)
            return
        }
        let identity = try AgentIdentity(subjectAlternativeNames: names)
        if let commonName = commonNames.first {
            let agrees =
                NameSyntax.asciiLowercased(commonName) == identity.hostname
                || (try? AgentIdentity(legacyCommonName: commonName)) == identity
            guard agrees else {
                throw PKIError.policy("common name '\(commonName)' does not name the subjectAltName's agent \(identity)")
            }
        }
        self = identity
    }

    /// The identity a PKCS#10 request asks for (from its extensionRequest's subjectAltName).
    public init(requestedBy csr: CertificateSigningRequest) throws {
        let names: SubjectAlternativeNames?
        do { names = try csr.attributes.extensionRequest?.extensions.subjectAlternativeNames } catch {
            throw PKIError.policy("the CSR's subjectAltName does not decode")
        }
        try self.init(subject: csr.subject, subjectAlternativeNames: names)
    }

    /// The identity a certificate was issued for.
    public init(certifiedBy certificate: Certificate) throws {
        let names: SubjectAlternativeNames?
        do { names = try certificate.extensions.subjectAlternativeNames } catch {
            throw PKIError.policy("the certificate's subjectAltName does not decode")
        }
        try self.init(subject: certificate.subject, subjectAlternativeNames: names)
    }

    /// The subject CN an agent certificate (and CSR) carries: the host name when it fits
    /// ub-common-name, otherwise none.
    public var commonName: String? { hostname.utf8.count <= Self.commonNameUpperBound ? hostname : nil }

    /// The subject an agent puts in its CSR: `CN={hostname}` when it fits, else empty (the
    /// appliance builds the certificate's subject itself; see ``SubjectName/agent(_:organization:agentsUnit:)``).
    public func requestSubject() throws -> DistinguishedName {
        try DistinguishedName { if let commonName { CommonName(commonName) } }
    }

    /// The CN of the earlier scheme, for recognising old certificates and requests.
    public var legacyCommonName: String { "\(Self.legacyPrefix)\(hostname)-\(uuid)" }

    /// The SAN entries that carry the identity.
    public var subjectAlternativeNames: SubjectAlternativeNames {
        SubjectAlternativeNames([.dnsName(hostname), .uniformResourceIdentifier("\(Self.uuidURNPrefix)\(uuid)")])
    }

    public var description: String { "\(hostname) (urn:uuid:\(uuid))" }
}

/// The earlier name of ``AgentIdentity``, when the identity was read from the subject CN.
@available(*, deprecated, renamed: "AgentIdentity")
public typealias AgentCommonName = AgentIdentity
