import SwiftASN1
import X509

/// What an administrator of the web console may do (docs/console.md#roles). Each role includes
/// the ones before it except that `revoker` does not approve: `viewer` reads; `approver` also
/// approves and rejects registrations; `revoker` also revokes; `admin` may do everything.
///
/// The role is part of the administrator certificate (an extended key usage under the console's
/// own OID arc, ``ConsoleAdministratorOID``), so it cannot be changed without re-issuing — and a
/// certificate the CA signed cannot be edited to claim another role.
public enum AdministratorRole: String, Sendable, Hashable, CaseIterable, Codable {
    case viewer
    case approver
    case revoker
    case admin

    /// Approve or reject pending registrations.
    public var mayApprove: Bool { self == .approver || self == .admin }
    /// Revoke certificates and agents.
    public var mayRevoke: Bool { self == .revoker || self == .admin }

    /// The extended key usage that names this role.
    public var keyUsage: ExtendedKeyUsage.Usage { ExtendedKeyUsage.Usage(oid: oid) }

    /// `2.25.8990053429951891987.2.<n>` (n = 1 viewer, 2 approver, 3 revoker, 4 admin).
    public var oid: ASN1ObjectIdentifier {
        let index: UInt =
            switch self {
            case .viewer: 1
            case .approver: 2
            case .revoker: 3
            case .admin: 4
            }
        return ConsoleAdministratorOID.arc(2, index)
    }

    /// The role named in `usages`; nil when there is none or more than one (refused).
    public init?(usages: some Sequence<ExtendedKeyUsage.Usage>) {
        let roles = Self.allCases.filter { role in usages.contains(role.keyUsage) }
        guard roles.count == 1 else { return nil }
        self = roles[0]
    }
}

/// The console's own OID arc under `2.25` (ITU-T X.667: an arc anyone may allocate without
/// registration by picking a UUID as integer). swift-asn1 keeps OID components in `UInt`, so the
/// value is a random 63-bit integer rather than a full 128-bit UUID. Agent, server and OCSP
/// certificates never carry anything under it, so no certificate issued under another profile
/// passes the console's check (docs/profiles.md#administrator-client).
public enum ConsoleAdministratorOID {
    static let base: [UInt] = [2, 25, 8_990_053_429_951_891_987]

    /// `2.25.8990053429951891987.1`: "Rootkeeper web console administrator" extended key usage.
    public static var consoleAdministrator: ASN1ObjectIdentifier { arc(1) }
    public static var consoleAdministratorUsage: ExtendedKeyUsage.Usage { ExtendedKeyUsage.Usage(oid: consoleAdministrator) }

    static func arc(_ components: UInt...) -> ASN1ObjectIdentifier {
        try! ASN1ObjectIdentifier(elements: base + components)
    }
}
