import ApplianceKit
import CAStore
import Foundation
import NIOConcurrencyHelpers
import PKICore
import Registration
import TestSupport

/// openssl as an independent OCSP client: builds requests and checks responses.
struct OpenSSLOCSPClient {
    let openssl: ExternalTool
    let h: CAHarness

    init(_ h: CAHarness) throws {
        self.openssl = try ExternalTool("openssl")
        self.h = h
    }

    /// `openssl ocsp -issuer <issuerPEM> [-sha256] -serial 0x… -reqout req.der [-no_nonce]`.
    func request(serialHex: String, issuerPEM: String? = nil, nonce: Bool, sha256: Bool = false, name: String) throws -> [UInt8] {
        let out = h.directory.file("\(name).req.der")
        var arguments = ["ocsp", "-issuer", issuerPEM ?? h.directory.file("intermediate.pem")]
        if sha256 { arguments.append("-sha256") }
        arguments += ["-serial", "0x" + serialHex, "-reqout", out]
        if !nonce { arguments.append("-no_nonce") }
        let result = try openssl.run(arguments)
        guard result.succeeded else { throw TestFailure("openssl ocsp request failed: \(result.output)") }
        return try [UInt8](Data(contentsOf: URL(fileURLWithPath: out)))
    }

    /// `openssl ocsp -respin resp.der -issuer int.pem -CAfile chain.pem -resp_text -serial 0x…`
    /// (plus `-reqin` so openssl checks the nonce).
    func check(response: [UInt8], serialHex: String, requestName: String? = nil, name: String) throws -> ExternalTool.Result {
        let path = h.directory.file("\(name).resp.der")
        try Data(response).write(to: URL(fileURLWithPath: path))
        var arguments = [
            "ocsp", "-respin", path, "-issuer", h.directory.file("intermediate.pem"), "-CAfile", h.directory.file("chain.pem"),
            "-resp_text",
        ]
        if let requestName {
            arguments += ["-reqin", h.directory.file("\(requestName).req.der")]
        } else {
            // openssl would otherwise put its own nonce in the request it checks against.
            arguments += ["-no_nonce", "-serial", "0x" + serialHex]
        }
        return try openssl.run(arguments)
    }
}

/// A store that answers like the SQLite store until told to fail (the disk went away).
final class FlakyStore: RevocationStore, Registration.CertificateStore, Sendable {
    let base: SQLiteStore
    let failure = NIOLockedValueBox<StoreError?>(nil)

    init(_ base: SQLiteStore) { self.base = base }

    func check() throws { if let error = failure.withLockedValue({ $0 }) { throw error } }

    func revoke(_ record: RevocationRecord) async throws -> RevocationResult {
        try check()
        return try await base.revoke(record)
    }
    func revocationStatus(serial: String) async throws -> Registration.RevocationStatus {
        try check()
        return try await base.revocationStatus(serial: serial)
    }
    func revocations(issuerSKI: String, afterSerial: String?, limit: Int) async throws -> [RevocationRecord] {
        try check()
        return try await base.revocations(issuerSKI: issuerSKI, afterSerial: afterSerial, limit: limit)
    }
    func revocationCount(issuerSKI: String) async throws -> Int {
        try check()
        return try await base.revocationCount(issuerSKI: issuerSKI)
    }
    func reserveIssuance(_ record: CertificateRecord) async throws {
        try check()
        try await base.reserveIssuance(record)
    }
    func recordIssued(serial: String, certificateDER: [UInt8], at: Date) async throws {
        try check()
        try await base.recordIssued(serial: serial, certificateDER: certificateDER, at: at)
    }
    func certificate(serial: String) async throws -> CertificateRecord? {
        try check()
        return try await base.certificate(serial: serial)
    }
    func certificates(agent: AgentID) async throws -> [CertificateRecord] {
        try check()
        return try await base.certificates(agent: agent)
    }
    func lineage(serial: String) async throws -> [CertificateRecord] {
        try check()
        return try await base.lineage(serial: serial)
    }
    func certificates(type: CertificateRecord.CertificateType?) async throws -> [CertificateRecord] {
        try check()
        return try await base.certificates(type: type)
    }
    func expiring(withinDays days: Int, now: Date) async throws -> [CertificateRecord] {
        try check()
        return try await base.expiring(withinDays: days, now: now)
    }
    func reservations(olderThan: Date) async throws -> [CertificateRecord] {
        try check()
        return try await base.reservations(olderThan: olderThan)
    }
    func superseded(before cutoff: Date) async throws -> [CertificateRecord] {
        try check()
        return try await base.superseded(before: cutoff)
    }
    func counts() async throws -> [CertificateCount] {
        try check()
        return try await base.counts()
    }
    func activeCounts(at now: Date) async throws -> [CertificateRecord.CertificateType: Int] {
        try check()
        return try await base.activeCounts(at: now)
    }
}

/// Minimal DER for hand-built OCSP requests (e.g. one with 10 000 CertIDs, which no tool makes).
enum TestDER {
    static func tlv(_ tag: UInt8, _ content: [UInt8]) -> [UInt8] {
        var length: [UInt8]
        if content.count < 128 {
            length = [UInt8(content.count)]
        } else {
            var bytes: [UInt8] = []
            var n = content.count
            while n > 0 {
                bytes.insert(UInt8(n & 0xFF), at: 0)
                n >>= 8
            }
            length = [0x80 | UInt8(bytes.count)] + bytes
        }
        return [tag] + length + content
    }

    /// OCSPRequest { TBSRequest { requestList } } with SHA-1 CertIDs for `serials`.
    static func request(hashes: OCSPIssuerHashes, serials: [[UInt8]]) -> [UInt8] {
        let sha1 = tlv(0x30, [0x06, 0x05, 0x2B, 0x0E, 0x03, 0x02, 0x1A, 0x05, 0x00])
        var list: [UInt8] = []
        for serial in serials {
            let certID = tlv(0x30, sha1 + tlv(0x04, hashes.issuerNameHash(.sha1)) + tlv(0x04, hashes.issuerKeyHash(.sha1)) + tlv(0x02, serial))
            list += tlv(0x30, certID)
        }
        return tlv(0x30, tlv(0x30, tlv(0x30, list)))
    }
}
