import Foundation

extension RegistrationAuthority {
    /// Reserves a certificate the appliance issues to itself (its TLS server certificate), with
    /// an audit entry `certificate.reserved`, before it is signed (docs/conventions.md#signing-path).
    public func reserveOwnCertificate(
        _ certificate: CertificateRecord, details: [String: String],
        by actor: String = "system"
    ) async throws -> CertificateRecord {
        var record = certificate
        record.status = .reserved
        record.certificateDER = nil
        record.reservedAt = clock.now()
        var audited = details
        audited["type"] = record.type.rawValue
        audited["tbs_sha256"] = record.tbsSHA256
        try await commit([
            .reserveCertificate(record),
            .audit(
                AuditEntry(
                    time: record.reservedAt, actor: actor, action: "certificate.reserved", subject: record.serial,
                    details: audited)),
        ])
        return record
    }

    /// Records the signed certificate for a reservation of ``reserveOwnCertificate(_:details:by:)``
    /// and audits `certificate.issued`; subscribers hear of it as ``AuthorityEvent/issued(_:renewal:)``.
    public func recordOwnCertificate(
        _ reserved: CertificateRecord, certificateDER: [UInt8],
        by actor: String = "system"
    ) async throws {
        let now = clock.now()
        try await commit(
            [
                .recordIssued(serial: reserved.serial, certificateDER: certificateDER, at: now),
                .audit(
                    AuditEntry(
                        time: now, actor: actor, action: "certificate.issued", subject: reserved.serial,
                        details: ["type": reserved.type.rawValue])),
            ], reservation: reserved)
    }
}
