import ApplianceKit
import Foundation
import PKICore
import SecureFiles
import TestSupport
import Testing
import X509

@Suite("CRL publisher: root CRL installed from a ceremony bundle")
struct CRLPublisherRootCRLTests {
    /// A root CRL signed by the test root, written as a ceremony would (`root.crl`, `root.crl.pem`, MANIFEST).
    static func writeBundle(
        _ h: CAHarness, number: UInt64, name: String, root: Certificate? = nil, key: Certificate.PrivateKey? = nil,
        revoked: [Certificate.SerialNumber] = [], thisUpdateOffset: TimeInterval = 0
    ) async throws -> String {
        let now = h.pki.clock.now().addingTimeInterval(thisUpdateOffset)
        let issuer = root ?? h.pki.root
        let entries = try revoked.map { try RevokedCertificate(serialNumber: $0, revocationDate: now, reason: .keyCompromise) }
        let tbs = try TBSCertList(
            issuerCertificate: issuer, thisUpdate: now, nextUpdate: now.addingTimeInterval(30 * 86_400), revokedCertificates: entries,
            crlNumber: CRLNumber(number))
        let signed = try await CRLSigner(issuerCertificate: issuer, privateKey: key ?? h.pki.rootKey)
            .sign(tbs, previousCRLNumber: nil).derEncoded
        let path = h.directory.file(name)
        try BundleDirectory.write(MediaBundle(payload: ["root.crl": signed], summary: "root CRL \(number)"), to: path)
        return path
    }

    @Test("a verified root CRL is installed and served; an older number, a forged CRL and a tampered bundle are refused")
    func installRootCRL() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let publisher = try h.publisher()
        #expect(try await publisher.currentCRL(issuer: .root) == nil)

        let five = try await Self.writeBundle(h, number: 5, name: "crl-5")
        #expect(try await publisher.installRootCRL(from: five) == CRLNumber(5))
        let served = try #require(await publisher.currentCRL(issuer: .root))
        let onDisk = try [UInt8](Data(contentsOf: URL(fileURLWithPath: h.state.path("crl", "root.crl"))))
        #expect(served == onDisk)
        let openssl = try ExternalTool("openssl")
        let check = try openssl.run([
            "crl", "-inform", "DER", "-in", h.state.path("crl", "root.crl"), "-CAfile", h.directory.file("root.pem"), "-noout",
        ])
        #expect(check.output.contains("verify OK"), "\(check.output)")

        let four = try await Self.writeBundle(h, number: 4, name: "crl-4")
        let older = await #expect(throws: ApplianceError.self) { try await publisher.installRootCRL(from: four) }
        #expect(
            older?.code == .forbidden && older?.reason.hasPrefix("root CRL 4 is older than the installed root CRL 5") == true,
            "\(String(describing: older))")

        // Another root with the very same subject name: its CRL must not verify against ours.
        let impostor = try await TestPKI.make(organization: h.pki.organization)
        #expect(impostor.root.subject == h.pki.root.subject)
        let forged = try await Self.writeBundle(h, number: 9, name: "crl-forged", root: impostor.root, key: impostor.rootKey)
        let foreign = await #expect(throws: PKIError.self) { try await publisher.installRootCRL(from: forged) }
        #expect(
            foreign?.code == .invalidSignature && foreign?.reason.hasPrefix("CRL signature does not verify") == true, "\(String(describing: foreign))"
        )

        let tampered = try await Self.writeBundle(h, number: 7, name: "crl-tampered")
        let crlPath = tampered + "/root.crl"
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: crlPath)))
        bytes[bytes.count - 1] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: crlPath))
        let altered = await #expect(throws: PKIError.self) { try await publisher.installRootCRL(from: tampered) }
        #expect(
            altered?.code == .bundleIntegrity && altered?.reason == "'root.crl' does not match its SHA-256 in MANIFEST",
            "\(String(describing: altered))")

        #expect(try await publisher.currentCRL(issuer: .root) == served)
        let six = try await Self.writeBundle(h, number: 6, name: "crl-6")
        #expect(try await publisher.installRootCRL(from: six) == CRLNumber(6))
        #expect(FileManager.default.fileExists(atPath: h.state.path("crl", "history", "root-5.crl")))
    }

    @Test("a root CRL written to disk by `crl install-root` while serving is served from the next request; a forged or older file is not")
    func picksUpRootCRLInstalledWhileServing() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let publisher = try h.publisher()
        _ = try await publisher.installRootCRL(from: try await Self.writeBundle(h, number: 5, name: "crl-5"))
        let path = h.state.path("crl", "root.crl")

        // What the offline command does after validating: write-then-rename over crl/root.crl.
        func replaceOnDisk(_ bundle: String) throws -> [UInt8] {
            let der = try #require(try BundleDirectory.read(from: bundle).file("root.crl"))
            try SecureFile.replaceAtomically(der, at: path, mode: 0o644)
            return der
        }
        let eight = try replaceOnDisk(try await Self.writeBundle(h, number: 8, name: "crl-8"))
        #expect(try await publisher.currentCRL(issuer: .root) == eight)

        // A file that does not verify against the pinned root, then an older number: the served
        // CRL stays number 8 (RFC 5280 §5.2.3), whatever lies on disk.
        let impostor = try await TestPKI.make(organization: h.pki.organization)
        _ = try replaceOnDisk(try await Self.writeBundle(h, number: 9, name: "crl-forged", root: impostor.root, key: impostor.rootKey))
        #expect(try await publisher.currentCRL(issuer: .root) == eight)
        _ = try replaceOnDisk(try await Self.writeBundle(h, number: 7, name: "crl-7"))
        #expect(try await publisher.currentCRL(issuer: .root) == eight)
    }

    /// `appliance crl install-root` (the real binary) on a state directory holding the pinned root.
    static func installRoot(_ h: CAHarness, from bundle: String) throws -> ExternalTool.Result {
        try ProductBinary.tool("appliance").run(["crl", "install-root", "--state-dir", h.state.root.path, "--from", bundle])
    }

    @Test(
        "`crl install-root` refuses an equal number with other content, a lower number and a CRL that drops a revoked serial; the identical CRL re-installs"
    )
    func installRootSuccession() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        try PEMCodec.pem(h.pki.root).write(toFile: h.state.rootCertificate, atomically: true, encoding: .utf8)
        try PEMCodec.pem(h.pki.intermediate).write(toFile: h.state.intermediateCertificate, atomically: true, encoding: .utf8)
        let intermediateSerial = h.pki.intermediate.serialNumber
        let installedPath = h.state.path("crl", "root.crl")
        func installed() throws -> Data { try Data(contentsOf: URL(fileURLWithPath: installedPath)) }

        // Root CRL 2 revokes the intermediate (the report's CRL).
        let two = try await Self.writeBundle(h, number: 2, name: "crl-2", revoked: [intermediateSerial])
        let first = try Self.installRoot(h, from: two)
        #expect(first.succeeded && first.stdout.contains("root CRL 2 installed"), "\(first.output)")
        let servedTwo = try installed()

        // The identical bundle again: accepted, nothing changes.
        let again = try Self.installRoot(h, from: two)
        #expect(again.succeeded, "\(again.output)")
        #expect(try installed() == servedTwo)

        // The attack's output: a CRL numbered 2 again, with no entries, signed by the same root.
        let forgedTwo = try await Self.writeBundle(h, number: 2, name: "crl-2-empty", thisUpdateOffset: 60)
        let equal = try Self.installRoot(h, from: forgedTwo)
        #expect(!equal.succeeded && equal.stderr.contains("has the number of the installed root CRL but different content"), "\(equal.output)")
        #expect(try installed() == servedTwo)

        let one = try await Self.writeBundle(h, number: 1, name: "crl-1")
        let lower = try Self.installRoot(h, from: one)
        #expect(!lower.succeeded && lower.stderr.contains("is older than the installed root CRL 2"), "\(lower.output)")
        #expect(try installed() == servedTwo)

        // A higher number that forgets the revocation: refused, naming the serial.
        let three = try await Self.writeBundle(h, number: 3, name: "crl-3-empty")
        let dropped = try Self.installRoot(h, from: three)
        #expect(!dropped.succeeded && dropped.stderr.contains("drops serial \(Array(intermediateSerial.bytes).hexString)"), "\(dropped.output)")
        #expect(try installed() == servedTwo)

        // A higher number that carries the revocation forward: installed.
        let four = try await Self.writeBundle(h, number: 4, name: "crl-4", revoked: [intermediateSerial])
        let next = try Self.installRoot(h, from: four)
        #expect(next.succeeded && next.stdout.contains("root CRL 4 installed"), "\(next.output)")
    }

    @Test("the running publisher refuses an equal-numbered or serial-dropping root CRL too")
    func publisherSuccession() async throws {
        let h = try await CAHarness.make()
        defer { h.remove() }
        let publisher = try h.publisher()
        let serial = h.pki.intermediate.serialNumber
        let two = try await Self.writeBundle(h, number: 2, name: "crl-2", revoked: [serial])
        #expect(try await publisher.installRootCRL(from: two) == CRLNumber(2))
        #expect(try await publisher.installRootCRL(from: two) == CRLNumber(2))
        let served = try await publisher.currentCRL(issuer: .root)
        let equal = try await Self.writeBundle(h, number: 2, name: "crl-2-empty", thisUpdateOffset: 60)
        let sameNumber = await #expect(throws: ApplianceError.self) { try await publisher.installRootCRL(from: equal) }
        #expect(
            sameNumber?.code == .forbidden
                && sameNumber?.reason.hasPrefix("root CRL 2 has the number of the installed root CRL but different content") == true,
            "\(String(describing: sameNumber))")
        let dropped = try await Self.writeBundle(h, number: 3, name: "crl-3-empty")
        let lapsed = await #expect(throws: ApplianceError.self) { try await publisher.installRootCRL(from: dropped) }
        #expect(
            lapsed?.code == .forbidden
                && lapsed?.reason.contains("which the installed root CRL 2 lists as revoked: a revocation never lapses") == true,
            "\(String(describing: lapsed))")
        #expect(try await publisher.currentCRL(issuer: .root) == served)
    }
}
