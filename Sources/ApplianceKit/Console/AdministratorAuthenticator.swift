import Foundation
import PKICore
import Registration
import X509

/// An administrator the console let in for this request.
public struct ConsoleAdministrator: Sendable, Equatable {
    /// `admin-<name>`, the certificate's common name.
    public var commonName: String
    public var role: AdministratorRole
    /// The certificate's serial (store form), to which the session is bound.
    public var serial: String
}

/// The console's check of the presented client certificate, run on **every** request
/// (docs/console.md#access), in this order; the first failure refuses:
///
/// | check | status | `reason` label |
/// |---|---|---|
/// | a certificate was presented | 401 | `no_certificate` |
/// | inside its validity period (injected clock) | 401 | `expired` |
/// | chains to the pinned root through a current or retiring intermediate | 401 | `untrusted_chain` |
/// | EKU has clientAuth, the console administrator usage and exactly one role | 403 | `not_administrator` |
/// | subject `CN=admin-<name>, OU=admins`, SAN `DNS:admin-<name>` | 403 | `not_administrator` |
/// | the store says issued, not revoked, byte for byte (fail closed: a store error refuses) | 403 | `revoked`, `unknown_certificate` |
/// | the store recorded it as an administrator certificate | 403 | `not_administrator` |
///
/// Agent and server certificates fail the usage check (they never carry the console's OID arc);
/// a certificate of another CA fails the chain; one forged with the intermediate key is unknown
/// to the store. The last check means even a certificate that somehow carried the usages would
/// need to have been recorded as type `admin` by `appliance admins add`.
public struct AdministratorAuthenticator: Sendable {
    public enum Outcome: Sendable, Equatable {
        case administrator(ConsoleAdministrator)
        case refused(status: Int, reason: String, metricReason: String)
    }

    let trust: ClientTrust
    let revocation: any RevocationChecking
    let certificates: any Registration.CertificateStore
    let clock: any PKIClock

    public init(trust: ClientTrust, revocation: any RevocationChecking, certificates: any Registration.CertificateStore, clock: any PKIClock) {
        self.trust = trust
        self.revocation = revocation
        self.certificates = certificates
        self.clock = clock
    }

    public func authenticate(_ certificate: Certificate?) async -> Outcome {
        guard let certificate else {
            return .refused(status: 401, reason: "an administrator client certificate is required", metricReason: "no_certificate")
        }
        let now = clock.now()
        guard certificate.notValidBefore <= now, now <= certificate.notValidAfter else {
            return .refused(status: 401, reason: "the client certificate is outside its validity period", metricReason: "expired")
        }
        if let failure = await trust.verify(leaf: certificate) {
            return .refused(status: 401, reason: "the client certificate does not chain to this CA: \(failure)", metricReason: "untrusted_chain")
        }
        let usages = ((try? certificate.extensions.extendedKeyUsage) ?? nil).map { Array($0) } ?? []
        guard usages.contains(.clientAuth), usages.contains(ConsoleAdministratorOID.consoleAdministratorUsage),
            let role = AdministratorRole(usages: usages)
        else {
            return .refused(
                status: 403, reason: "the client certificate is not an administrator certificate (issue one with appliance admins add)",
                metricReason: "not_administrator")
        }
        guard let commonName = SubjectName.commonName(of: certificate.subject), commonName.hasPrefix("admin-"),
            Self.units(of: certificate.subject) == ["admins"],
            let names = try? certificate.extensions.subjectAlternativeNames, Array(names) == [.dnsName(commonName)]
        else {
            return .refused(
                status: 403, reason: "the client certificate does not name an administrator (CN=admin-NAME, OU=admins)",
                metricReason: "not_administrator")
        }
        let serial = CertificateRecord.serialHex(contentBytes: certificate.serialNumber.bytes)
        do {
            switch try await revocation.revocationStatus(of: certificate) {
            case .good: break
            case .revoked(let reason):
                return .refused(status: 403, reason: "the administrator certificate is revoked (\(reason))", metricReason: "revoked")
            case .unknown:
                return .refused(status: 403, reason: "the administrator certificate is not known to this CA", metricReason: "unknown_certificate")
            }
            guard let record = try await certificates.certificate(serial: serial), record.type == .admin else {
                return .refused(
                    status: 403, reason: "the client certificate was not issued as an administrator certificate", metricReason: "not_administrator")
            }
        } catch {
            return .refused(status: 503, reason: "the certificate store cannot be asked right now; try again", metricReason: "revocation_unavailable")
        }
        return .administrator(ConsoleAdministrator(commonName: commonName, role: role, serial: serial))
    }

    static func units(of name: DistinguishedName) -> [String] {
        name.flatMap { rdn in rdn.filter { $0.type == .RDNAttributeType.organizationalUnitName }.compactMap { String($0.value) } }
    }
}
