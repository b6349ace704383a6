import Foundation
import X509

/// Builders for the subject names of docs/profiles.md#subject-names. Every builder refuses empty required parts.
public enum SubjectName {
    /// `CN=<name> Root CA, O=<org>, OU=<unit>, C=<country>`.
    public static func root(name: String, organization: String, unit: String?, country: String?) throws -> DistinguishedName {
        try build(commonName: "\(try nonEmpty(name, "root name")) Root CA", organization: organization, unit: unit, country: country)
    }

    /// `CN=<name> Intermediate CA, O=<org>, OU=<unit>, C=<country>`.
    public static func intermediate(name: String, organization: String, unit: String?, country: String?) throws -> DistinguishedName {
        try build(commonName: "\(try nonEmpty(name, "intermediate name")) Intermediate CA", organization: organization, unit: unit, country: country)
    }

    /// `CN=<hostname>, OU=<agents OU>, O=<org>`, without CN when the host name is longer than
    /// ub-common-name (64); the identity is in the SAN (`docs/identity.md`).
    public static func agent(_ identity: AgentIdentity, organization: String, agentsUnit: String) throws -> DistinguishedName {
        try build(commonName: identity.commonName, organization: organization, unit: agentsUnit, country: nil)
    }

    /// `CN=<fqdn>, OU=<server OU>, O=<org>`; no CN when the name is longer than ub-common-name
    /// (64): the server is identified by its SAN (RFC 6125 §6.4.4).
    public static func server(fqdn: String, organization: String, unit: String) throws -> DistinguishedName {
        guard NameSyntax.isValidHostname(fqdn) else {
            throw PKIError.invalidParameter("'\(fqdn)' is not an RFC 1123 host name")
        }
        return try build(
            commonName: fqdn.utf8.count <= AgentIdentity.commonNameUpperBound ? fqdn : nil, organization: organization, unit: unit, country: nil)
    }

    /// `CN=admin-<name>, OU=admins, O=<org>` for administrator client certificates.
    public static func admin(name: String, organization: String) throws -> DistinguishedName {
        guard NameSyntax.isValidHostname(name), !name.contains(".") else {
            throw PKIError.invalidParameter("administrator name '\(name)' must be letters, digits and hyphens")
        }
        return try build(commonName: "admin-\(name)", organization: organization, unit: "admins", country: nil)
    }

    /// `CN=<name> OCSP Signer, O=<org>`.
    public static func ocspSigner(name: String, organization: String) throws -> DistinguishedName {
        try build(commonName: "\(try nonEmpty(name, "OCSP signer name")) OCSP Signer", organization: organization, unit: nil, country: nil)
    }

    /// The first common name of `name`, if any.
    public static func commonName(of name: DistinguishedName) -> String? {
        for rdn in name {
            for attribute in rdn where attribute.type == .RDNAttributeType.commonName {
                return String(attribute.value)
            }
        }
        return nil
    }

    /// RDN order is most-significant first in DER (C, O, OU, CN), which prints as the
    /// `CN=…, OU=…, O=…, C=…` form of the table.
    static func build(commonName: String?, organization: String, unit: String?, country: String?) throws -> DistinguishedName {
        let organization = try nonEmpty(organization, "organization")
        // RFC 5280 Appendix A ub-common-name / ub-organizational-unit-name: say so here, with the
        // value, rather than let the linter stop the signature later.
        if let commonName, commonName.unicodeScalars.count > 64 {
            throw PKIError.invalidParameter(
                "common name '\(commonName)' is \(commonName.unicodeScalars.count) characters; at most 64 are allowed (RFC 5280 ub-common-name): choose a shorter name"
            )
        }
        if let unit, unit.unicodeScalars.count > 64 {
            throw PKIError.invalidParameter("organizational unit '\(unit)' is longer than 64 characters (RFC 5280 ub-organizational-unit-name)")
        }
        if let country { _ = try CountryCode(country) }
        return try DistinguishedName {
            if let country { CountryName(country) }
            OrganizationName(organization)
            if let unit, !unit.isEmpty { OrganizationalUnitName(unit) }
            if let commonName { CommonName(commonName) }
        }
    }

    static func nonEmpty(_ value: String, _ what: String) throws -> String {
        let trimmed = value.trimmingCharacters(in: .whitespaces)
        guard !trimmed.isEmpty else { throw PKIError.invalidParameter("\(what) must not be empty") }
        guard trimmed.utf8.count <= 64 else { throw PKIError.invalidParameter("\(what) is longer than 64 characters (RFC 5280 ub-common-name)") }
        return trimmed
    }
}
