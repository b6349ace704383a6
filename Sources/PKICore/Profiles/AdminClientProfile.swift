import Foundation
import X509

/// Administrator client certificate for the web console (docs/profiles.md#administrator-client):
/// `CN=admin-<name>, OU=admins, O=<org>`, CA:FALSE, EKU clientAuth + the console administrator
/// usage + the usage naming the ``AdministratorRole`` (``ConsoleAdministratorOID``), SAN
/// `DNS:admin-<name>` (so leaves always carry a SAN), SKI/AKI. Default 365 days (1–397).
public struct AdminClientProfile: CertificateProfile {
    public static let defaultValidity = 365 * ValidityPolicy.day
    public static let validityBounds = (1 * ValidityPolicy.day)...(397 * ValidityPolicy.day)

    public let name = "admin"
    public let kind = ProfileKind.leaf
    public let adminName: String
    public let subject: DistinguishedName
    public let role: AdministratorRole
    public let extendedKeyUsages: [ExtendedKeyUsage.Usage]
    public let pointers: RevocationPointers
    public let validityPolicy: ValidityPolicy

    public init(
        name: String, organization: String, role: AdministratorRole = .viewer, pointers: RevocationPointers = .none,
        validity: TimeInterval = AdminClientProfile.defaultValidity
    ) throws {
        self.role = role
        self.extendedKeyUsages = [.clientAuth, ConsoleAdministratorOID.consoleAdministratorUsage, role.keyUsage]
        self.subject = try SubjectName.admin(name: name, organization: organization)
        self.adminName = name
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
        try builder.subjectAlternativeNames([.dnsName("admin-\(adminName)")])
        try builder.revocationPointers(pointers)
        return builder.extensions
    }
}
