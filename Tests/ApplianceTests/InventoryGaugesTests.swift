import ApplianceKit
import CAStore
import Foundation
import PKICore
import Registration
import Testing

/// inventory gauges (docs/metrics.md#inventory-gauges), which the expiry alerts of Runbooks/prometheus read.
@Suite("Inventory gauges: active, expiring soon, pending registrations")
struct InventoryGaugesTests {
    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    static func issue(_ store: InMemoryStore, serial: String, type: CertificateRecord.CertificateType = .agent, endsInDays days: Double) async throws
    {
        let record = CertificateRecord(
            serial: serial, issuerSKI: "ab", type: type, subject: "CN=\(serial)", notBefore: now - 86_400,
            notAfter: now + days * 86_400, tbsSHA256: serial, reservedAt: now - 86_400)
        _ = try await store.perform([.reserveCertificate(record), .recordIssued(serial: serial, certificateDER: [0x30, 0x00], at: now - 86_400)])
    }

    @Test("gauges count valid issued certificates by type, those expiring within 30/7/1 days, and pending registrations")
    func refresh() async throws {
        let store = InMemoryStore()
        for (serial, days) in [("a-expired", -1.0), ("a-12h", 0.5), ("a-5d", 5), ("a-20d", 20), ("a-60d", 60)] {
            try await Self.issue(store, serial: serial, endsInDays: days)
        }
        try await Self.issue(store, serial: "s-300d", type: .server, endsInDays: 300)
        try await Self.issue(store, serial: "a-super", endsInDays: 3)
        _ = try await store.perform([.supersede(serial: "a-super", at: Self.now)])
        for hostname in ["web-01", "web-02"] {
            let registration = PendingRegistration(
                id: UUID(), hostname: hostname, agentID: AgentID(UUID()), csrDER: [0x30, 0x00], spkiSHA256: hostname,
                sourceAddress: "127.0.0.1", created: Self.now)
            _ = try await store.perform([.insertRegistration(registration)])
        }
        let metrics = ApplianceMetrics()
        let gauges = InventoryGauges(store: store, metrics: metrics, clock: FixedClock(Self.now), logger: .init(label: "test"))
        try await gauges.refresh()

        let registry = metrics.registry
        // Expired and superseded certificates are not active (docs/lifecycle.md#supersession).
        #expect(registry.value("rootkeeper_certificates_active", labels: ["certificate_type": "agent"]) == 4)
        #expect(registry.value("rootkeeper_certificates_active", labels: ["certificate_type": "server"]) == 1)
        #expect(registry.value("rootkeeper_certificates_active", labels: ["certificate_type": "ocspSigner"]) == 0)
        #expect(registry.value("rootkeeper_certificates_expiring_soon", labels: ["days_until_expiry": "30"]) == 3)
        #expect(registry.value("rootkeeper_certificates_expiring_soon", labels: ["days_until_expiry": "7"]) == 2)
        #expect(registry.value("rootkeeper_certificates_expiring_soon", labels: ["days_until_expiry": "1"]) == 1)
        #expect(registry.value("rootkeeper_registrations_pending") == 2)
        let text = registry.render()
        #expect(text.contains("rootkeeper_certificates_expiring_soon{days_until_expiry=\"7\"} 2"), "\(text)")
    }
}
