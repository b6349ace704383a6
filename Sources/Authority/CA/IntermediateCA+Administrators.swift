import Foundation
import PKICore
import Registration
import X509

/// One administrator certificate as `appliance admins list` and the console show it.
public struct AdministratorCertificate: Sendable, Equatable {
    /// The name after `admin-` in the common name.
    public var name: String
    public var role: AdministratorRole?
    public var record: CertificateRecord
}

extension IntermediateCA {
    /// Issues an administrator certificate for the web console (docs/console.md#administrator-certificates)
    /// to `publicKey` (the key stays with the `appliance admins add` command that generated it).
    /// Like the server certificate it is reserved in the store before it is signed and recorded
    /// through the RA's unit of work (type `admin`, audited with the caller). Refused while `name`
    /// has an administrator certificate that is neither revoked nor expired: revoke it first.
    public func issueAdministrator(name: String, role: AdministratorRole, publicKey: Certificate.PublicKey, caller: AdminCaller) async throws
        -> Certificate
    {
        let profile: AdminClientProfile
        do {
            profile = try AdminClientProfile(name: name, organization: settings.organization, role: role, pointers: try settings.pointers())
        } catch let error as PKIError {
            throw ApplianceError.malformed(error.reason)
        }
        let now = clock.now()
        if let current = try await administrators().first(where: {
            $0.name == name && $0.record.status == .issued && $0.record.notAfter > now
        }) {
            throw ApplianceError.forbidden(
                "administrator \(name) already has certificate \(current.record.serial) (\(current.role?.rawValue ?? "no role")); "
                    + "revoke it first with: appliance admins revoke \(name)")
        }
        let token = try issuer.prepare(profile: profile, subjectPublicKey: publicKey)
        let reservation = reservation(for: token, type: .admin)
        let record = try await authority.reserveOwnCertificate(
            reservation, details: ["administrator": "admin-\(name)", "role": role.rawValue], by: Self.actor(caller))
        let certificate = try await issuer.issue(token)
        try await authority.recordOwnCertificate(record, certificateDER: try PEMCodec.der(certificate), by: Self.actor(caller))
        return certificate
    }

    /// Every administrator certificate the store holds, newest first.
    public func administrators() async throws -> [AdministratorCertificate] {
        try await store.certificates(type: .admin).compactMap { record -> AdministratorCertificate? in
            guard let name = Self.administratorName(subject: record.subject) else { return nil }
            var role: AdministratorRole?
            if let der = record.certificateDER, let certificate = try? Certificate(derEncoded: der),
                let usages = try? certificate.extensions.extendedKeyUsage
            {
                role = AdministratorRole(usages: usages)
            }
            return AdministratorCertificate(name: name, role: role, record: record)
        }.sorted { $0.record.reservedAt > $1.record.reservedAt }
    }

    /// Revokes every unrevoked administrator certificate of `name` through the RA (the same unit of
    /// work as `certs revoke`: OCSP, CRL, caches and open console connections follow on the event
    /// stream); returns one line per certificate.
    public func revokeAdministrator(name: String, reason: String, caller: AdminCaller) async throws -> [String] {
        let targets = try await administrators().filter { $0.name == name && ($0.record.status == .issued || $0.record.status == .superseded) }
        guard !targets.isEmpty else { throw ApplianceError.notFound("no unrevoked administrator certificate for \(name)") }
        var lines: [String] = []
        for target in targets {
            lines.append(try await revokeCertificate(serial: target.record.serial, reason: reason, caller: caller))
        }
        return lines
    }

    /// `CN=admin-<name>, …` → `<name>`.
    static func administratorName(subject: String) -> String? {
        for part in subject.split(separator: ",") {
            let trimmed = part.trimmingCharacters(in: .whitespaces)
            if trimmed.hasPrefix("CN=admin-") { return String(trimmed.dropFirst("CN=admin-".count)) }
        }
        return nil
    }
}

extension IntermediateCA {
    public func addAdministrator(name: String, role: String, publicKeyPEM: String, caller: AdminCaller) async throws -> String {
        guard let parsedRole = AdministratorRole(rawValue: role) else {
            throw ApplianceError.malformed(
                "role '\(role)' is not one of \(AdministratorRole.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        let publicKey: Certificate.PublicKey
        do { publicKey = try Certificate.PublicKey(pemEncoded: publicKeyPEM) } catch {
            throw ApplianceError.malformed("the administrator's public key is not a PEM SubjectPublicKeyInfo")
        }
        let certificate = try await issueAdministrator(name: name, role: parsedRole, publicKey: publicKey, caller: caller)
        return try PEMCodec.pemChain([certificate] + chain)
    }

    public func listAdministrators(caller: AdminCaller) async throws -> [AdminEntry] {
        try await auditRead("admin.admins.list", subject: "*", caller: caller)
        let now = clock.now()
        return try await administrators().map { admin in
            let state = admin.record.status == .issued && admin.record.notAfter <= now ? "expired" : admin.record.status.rawValue
            return AdminEntry(
                id: admin.record.serial,
                summary: "\(state) admin-\(admin.name) role=\(admin.role?.rawValue ?? "-") notAfter=\(Self.time(admin.record.notAfter))",
                fields: [
                    AdminField(name: "serial", value: admin.record.serial), AdminField(name: "name", value: admin.name),
                    AdminField(name: "role", value: admin.role?.rawValue ?? ""), AdminField(name: "status", value: state),
                    AdminField(name: "notBefore", value: Self.time(admin.record.notBefore)),
                    AdminField(name: "notAfter", value: Self.time(admin.record.notAfter)),
                ])
        }
    }
}
