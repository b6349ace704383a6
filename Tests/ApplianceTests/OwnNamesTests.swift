import ApplianceKit
import Foundation
import TestSupport
import Testing

/// The names the appliance reserves for itself (docs/identity.md), from its configuration and
/// from a server certificate.
@Suite("The appliance's own names")
struct OwnNamesTests {
    @Test("configuration: server names and addresses, listener addresses and the public URL's host")
    func fromConfiguration() {
        var configuration = ApplianceConfiguration()
        configuration.server.fqdn = "pki.example.test"
        configuration.server.dnsNames = "est.example.test, ocsp.example.test"
        configuration.server.ipAddresses = "192.0.2.7, 2001:db8::7"
        configuration.https.address = "192.0.2.8"
        configuration.ca.publicURL = "http://crl.example.test:8080/"
        let names = Set(configuration.ownNames)
        for name in [
            "pki.example.test", "est.example.test", "ocsp.example.test", "192.0.2.7", "2001:db8::7", "192.0.2.8", "0.0.0.0", "crl.example.test",
        ] {
            #expect(names.contains(name), "\(name) missing from \(names.sorted())")
        }
    }

    @Test("server certificate: its CN, DNS names and IP addresses as text")
    func fromCertificate() async throws {
        let pki = try await TestPKI.make()
        let server = try await pki.issueServer(
            fqdn: "old.example.test", dnsNames: ["alias.example.test"],
            ipAddresses: [[198, 51, 100, 9], [0x20, 0x01, 0x0d, 0xb8] + Array(repeating: 0, count: 11) + [9]])
        let names = try ApplianceConfiguration.names(in: server.certificate)
        #expect(Set(names).isSuperset(of: ["old.example.test", "alias.example.test", "198.51.100.9", "2001:db8::9"]), "\(names)")
    }

    @Test("enrollment.pending_expiry_days and max_pending_per_source load from YAML and are range-checked by key path")
    func squattingKeys() throws {
        var configuration = try ApplianceConfiguration.load(yaml: "enrollment:\n  pending_expiry_days: 3\n  max_pending_per_source: 0\n")
        #expect(configuration.enrollment.pendingExpiryDays == 3 && configuration.enrollment.maxPendingPerSource == 0)
        try configuration.validate()
        configuration.enrollment.pendingExpiryDays = 0
        #expect(throws: ApplianceError.configuration("enrollment.pending_expiry_days", "must be 1…365")) { try configuration.validate() }
        configuration = ApplianceConfiguration()
        configuration.enrollment.maxPendingPerSource = -1
        #expect(throws: ApplianceError.configuration("enrollment.max_pending_per_source", "must be 0 (off) … 1000000")) {
            try configuration.validate()
        }
    }
}
