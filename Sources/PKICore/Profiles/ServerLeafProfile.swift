import Foundation
import SwiftASN1
import X509

/// The appliance's TLS server certificate (docs/profiles.md#server-leaf): `CN=<fqdn>, OU, O`, CA:FALSE, EKU
/// serverAuth, SAN with the DNS names and IP addresses from configuration (the fqdn is always
/// included, RFC 6125 §6.4.4 clients ignore the CN). Default 365 days (1–397).
public struct ServerLeafProfile: CertificateProfile {
    public static let defaultValidity = 365 * ValidityPolicy.day
    public static let validityBounds = (1 * ValidityPolicy.day)...(397 * ValidityPolicy.day)

    public let name = "server"
    public let kind = ProfileKind.leaf
    public let subject: DistinguishedName
    public let extendedKeyUsages: [ExtendedKeyUsage.Usage] = [.serverAuth]
    public let dnsNames: [String]
    /// IPv4 (4 octets) or IPv6 (16 octets) addresses in network order.
    public let ipAddresses: [[UInt8]]
    public let pointers: RevocationPointers
    public let validityPolicy: ValidityPolicy

    public init(
        fqdn: String,
        organization: String,
        unit: String = "servers",
        dnsNames: [String] = [],
        ipAddresses: [[UInt8]] = [],
        pointers: RevocationPointers = .none,
        validity: TimeInterval = ServerLeafProfile.defaultValidity
    ) throws {
        self.subject = try SubjectName.server(fqdn: fqdn, organization: organization, unit: unit)
        var names = [fqdn]
        for name in dnsNames where !names.contains(name) {
            guard NameSyntax.isValidHostname(name) else { throw PKIError.invalidParameter("'\(name)' is not an RFC 1123 host name") }
            names.append(name)
        }
        for address in ipAddresses where address.count != 4 && address.count != 16 {
            throw PKIError.invalidParameter("an IP address must be 4 or 16 octets, got \(address.count)")
        }
        self.dnsNames = names
        self.ipAddresses = ipAddresses
        self.pointers = pointers
        self.validityPolicy = try ValidityPolicy(duration: validity, bounds: Self.validityBounds, minimum: ValidityPolicy.day)
    }

    public func validity(now: Date, issuer: IssuerSummary) throws -> ValidityPeriod {
        try validityPolicy.period(now: now, issuer: issuer)
    }

    public func extensions(subjectKey: Certificate.PublicKey, issuer: IssuerSummary) throws -> Certificate.Extensions {
        var builder = ExtensionBuilder()
        try builder.basicConstraints(isCA: false, pathLength: nil)
        try builder.keyUsage(isCA: false, subjectKey: subjectKey)
        try builder.extendedKeyUsage(extendedKeyUsages)
        try builder.subjectKeyIdentifier(subjectKey)
        try builder.authorityKeyIdentifier(issuer)
        try builder.subjectAlternativeNames(dnsNames.map { .dnsName($0) } + ipAddresses.map { .ipAddress(ASN1OctetString(contentBytes: $0[...])) })
        try builder.revocationPointers(pointers)
        return builder.extensions
    }
}
