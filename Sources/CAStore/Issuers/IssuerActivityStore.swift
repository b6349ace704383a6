import Foundation
import GRDB
import Registration

/// What the appliance asks before retiring an intermediate after a renewal (docs/lifecycle.md#intermediate-renewal,
/// intermediate renewal with overlap): when does the last certificate it issued expire?
///
/// Every status counts — issued, superseded, revoked and unconfirmed reservations — because a
/// revoked certificate must stay on its issuer's CRL until it expires (RFC 5280 §3.3), and a
/// reservation may be a certificate whose confirmation was lost in a crash.
public protocol IssuerActivityStore: Sendable {
    /// The latest notAfter among certificates recorded under `issuerSKI` whose type is not in
    /// `excluding`; nil when there is none. Throws when the store cannot look (fail closed).
    func latestExpiry(issuerSKI: String, excluding: Set<CertificateRecord.CertificateType>) async throws -> Date?
}

extension SQLiteStore: IssuerActivityStore {
    public func latestExpiry(issuerSKI: String, excluding: Set<CertificateRecord.CertificateType>) async throws -> Date? {
        let excluded = excluding.map(\.rawValue).sorted()
        return try await read("latest expiry of issuer \(issuerSKI)") { db in
            let placeholders = excluded.isEmpty ? "''" : excluded.map { _ in "?" }.joined(separator: ", ")
            let seconds = try Double.fetchOne(
                db,
                sql: """
                    SELECT MAX(not_after) FROM certificates WHERE issuer_ski = ? AND type NOT IN (\(placeholders))
                    """, arguments: StatementArguments([issuerSKI] + excluded))
            return seconds.map { Date(timeIntervalSince1970: $0) }
        }
    }
}

extension InMemoryStore: IssuerActivityStore {
    public func latestExpiry(issuerSKI: String, excluding: Set<CertificateRecord.CertificateType>) async throws -> Date? {
        state.certificates.values.filter { $0.issuerSKI == issuerSKI && !excluding.contains($0.type) }.map(\.notAfter).max()
    }
}
