import Foundation
import PKICore
import X509

/// What makes a leaf the appliance's *server* certificate rather than another certificate of the
/// same CA. Every leaf the intermediate issues chains and may name any host (an agent's SAN is
/// `DNS:{hostname}`), so chain + hostname + pin alone would let an agent that enrolled as
/// `localhost` impersonate the appliance (issue #11). The profiles differ in purpose:
///
/// | | `ServerLeafProfile` | `AgentLeafProfile` / `AdminClientProfile` |
/// |---|---|---|
/// | extKeyUsage | serverAuth only | clientAuth only |
/// | SAN | DNS names and IPs | `URI:urn:uuid:{uuid}` (agents) |
/// | CN | the fqdn | `agent-…` / `admin-…` |
///
/// RFC 5280 §4.2.1.12: a certificate whose extKeyUsage does not include id-kp-serverAuth must
/// not be used for TLS server authentication, and we require the extension to be present (our
/// server profile always has it). A leaf that can also authenticate a client, carries an agent
/// identity URI or an agent/administrator common name is refused even if it lists serverAuth.
enum ServerLeafRequirement {
    /// Nil when `leaf` is a server certificate, else why it is not.
    static func refusal(_ leaf: Certificate) -> String? {
        let subject = "the server's certificate \(leaf.subject)"
        let usages: ExtendedKeyUsage?
        do {
            usages = try leaf.extensions.extendedKeyUsage
        } catch {
            return "\(subject) has an unreadable extendedKeyUsage extension (\(error)); it lacks serverAuth"
        }
        guard let usages else {
            return "\(subject) has no extendedKeyUsage extension, so it lacks serverAuth: it is not the appliance's server certificate"
        }
        guard usages.contains(.serverAuth) else {
            let listed = usages.map { Self.name(of: $0) }.joined(separator: ", ")
            let kind = usages.contains(.clientAuth) ? " — a client (agent or administrator) certificate" : ""
            return "\(subject) lacks the serverAuth extended key usage (it has \(listed))\(kind); it is not the appliance's server certificate"
        }
        if usages.contains(.clientAuth) {
            return "\(subject) allows clientAuth as well as serverAuth; the appliance's server certificate is serverAuth only"
        }
        let uris =
            ((try? leaf.extensions.subjectAlternativeNames) ?? nil).map { names in
                names.compactMap { name -> String? in
                    if case .uniformResourceIdentifier(let uri) = name { return uri }
                    return nil
                }
            } ?? []
        if let agentURI = uris.first(where: { $0.lowercased().hasPrefix("urn:uuid:") }) {
            return "\(subject) carries the agent identity \(agentURI); it is an agent certificate, not the appliance's server certificate"
        }
        if let commonName = SubjectName.commonName(of: leaf.subject), commonName.hasPrefix("agent-") || commonName.hasPrefix("admin-") {
            return "\(subject) has a client common name (\(commonName)); it is not the appliance's server certificate"
        }
        return nil
    }

    static func name(of usage: ExtendedKeyUsage.Usage) -> String {
        switch usage {
        case .serverAuth: "serverAuth"
        case .clientAuth: "clientAuth"
        case .codeSigning: "codeSigning"
        case .emailProtection: "emailProtection"
        case .timeStamping: "timeStamping"
        case .ocspSigning: "OCSPSigning"
        case .any: "anyExtendedKeyUsage"
        default: "\(usage)"
        }
    }
}
