import Foundation
import PKICore
import X509

extension ApplianceConfiguration {
    /// Every name this configuration makes the appliance answer to: the server certificate's
    /// `server.fqdn`, `server.dns_names` and `server.ip_addresses`, the listeners' addresses and
    /// the host of `ca.public_url` (written into every certificate's CRL and OCSP URLs).
    /// No agent may be issued one of them (``Registration/RegistrationPolicy/reservedNames``).
    public var ownNames: [String] {
        server.dnsNameList
            + server.ipAddresses.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
            + [https.address, http.address]
            + [URLComponents(string: publicBaseURL)?.host].compactMap { $0 }
    }

    /// The DNS names and IP addresses (as text) in a server certificate's subjectAltName, and its
    /// CN: a certificate issued under an earlier configuration still names the appliance.
    public static func names(in certificate: Certificate) throws -> [String] {
        var names = SubjectName.commonName(of: certificate.subject).map { [$0] } ?? []
        for name in try certificate.extensions.subjectAlternativeNames ?? SubjectAlternativeNames() {
            switch name {
            case .dnsName(let dns): names.append(dns)
            case .ipAddress(let octets): names.append(IPAddressText.text(Array(octets.bytes)))
            default: continue
            }
        }
        return names
    }
}

extension IPAddressText {
    /// The textual form (inet_ntop) of 4 or 16 network-order bytes; hex for anything else.
    static func text(_ bytes: [UInt8]) -> String {
        let family: Int32
        switch bytes.count {
        case 4: family = AF_INET
        case 16: family = AF_INET6
        default: return bytes.map { String(format: "%02x", $0) }.joined()
        }
        var buffer = [CChar](repeating: 0, count: Int(INET6_ADDRSTRLEN))
        let ok = bytes.withUnsafeBytes { raw in inet_ntop(family, raw.baseAddress, &buffer, socklen_t(buffer.count)) != nil }
        return ok ? String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self) : ""
    }
}
