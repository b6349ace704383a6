import ApplianceKit
import CAStore
import Foundation
import PKICore
import Registration

/// The store walk that feeds the CRL publisher (CRLPublisher+Generation.swift): every revocation
/// of the issuer in 10 000-entry pages, each page's notAfter looked up to prune expired entries
/// (RFC 5280 §3.3). Compares the SQLite store's batched lookup (`SQLiteStore.notAfter(serials:)`,
/// what the CRL publisher uses through `CertificateExpiryLookup`) with the former one `certificate(serial:)` query
/// per entry, on a store bulk-filled by sqlite3 in a temp directory.
///
/// Arguments: `--entries 100000,1000000` `--per-serial-max 100000` (the per-entry walk is only
/// timed up to this many entries; it is linear).
enum StoreWalkBenchmark {
    static let issuer = "5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b5b"

    static func run(arguments: [String]) async throws {
        let counts = CRLBenchmark.option("--entries", in: arguments)?.split(separator: ",").compactMap { Int($0) } ?? [100_000, 1_000_000]
        let perSerialMax = Int(CRLBenchmark.option("--per-serial-max", in: arguments) ?? "100000") ?? 100_000
        for count in counts {
            let directory = NSTemporaryDirectory() + "rootkeeper-walk-bench-\(UUID().uuidString)"
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let path = directory + "/rootkeeper.sqlite"
            let store = try SQLiteStore(path: path)
            try populate(path, count: count)
            let batched = try await walk(store, lookup: store)
            let pagesOnly = try await walk(store, lookup: nil)
            var line = String(
                format: "store walk, %d revocations: pages only %.2f s, pages + batched notAfter %.2f s", count, pagesOnly.seconds, batched.seconds)
            if count <= perSerialMax {
                let single = try await walk(store, lookup: PerSerialLookup(store: store))
                guard single.kept == batched.kept else { throw PKIError.invalidParameter("the two walks disagree") }
                line += String(format: " | one query per entry %.2f s | speed-up %.1fx", single.seconds, single.seconds / batched.seconds)
            }
            print(line + " (\(batched.kept) entries kept)")
        }
    }

    /// Pages through the revocations and prunes expired ones, as the publisher does.
    /// `lookup` nil: the pages alone (what the walk costs without pruning).
    static func walk(_ store: SQLiteStore, lookup: (any CertificateExpiryLookup)?) async throws -> (seconds: Double, kept: Int) {
        let start = DispatchTime.now()
        let now = Date()
        var kept = 0
        for try await page in store.revokedPages(issuerSKI: issuer, pageSize: 10_000) {
            guard let lookup else {
                kept += page.count
                continue
            }
            let expiries = try await lookup.notAfter(serials: page.map(\.serial))
            for record in page where (expiries[record.serial].map { $0 >= now } ?? true) { kept += 1 }
        }
        return (CRLBenchmark.elapsed(since: start), kept)
    }

    /// Revoked certificates as the store writes them; every tenth already expired (pruned).
    static func populate(_ path: String, count: Int) throws {
        let sql = """
            .timeout 10000
            BEGIN;
            WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < \(count))
            INSERT INTO certificates (serial, issuer_ski, type, subject, not_before, not_after, status, tbs_sha256, reserved_at, issued_at)
            SELECT printf('5b%030x', i), '\(issuer)', 'agent', 'CN=agent-bulk-' || i, unixepoch() - 86400,
                   unixepoch() + CASE WHEN i % 10 = 0 THEN -3600 ELSE 90 * 86400 END, 'revoked', '\(String(repeating: "ab", count: 32))',
                   unixepoch() - 86400, unixepoch() - 86400 FROM n;
            INSERT INTO revocations (serial, issuer_ski, revoked_at, reason, invalidity_date)
            SELECT serial, issuer_ski, unixepoch() - 3600, 1, NULL FROM certificates;
            COMMIT;
            """
        let input = NSTemporaryDirectory() + "rk-walk-\(UUID().uuidString).sql"
        try sql.write(toFile: input, atomically: true, encoding: .utf8)
        defer { try? FileManager.default.removeItem(atPath: input) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/sqlite3")
        process.arguments = [path, ".read \(input)"]
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw PKIError.invalidParameter("sqlite3 bulk insert failed") }
    }

    /// The former default: one `certificate(serial:)` query per entry.
    struct PerSerialLookup: CertificateExpiryLookup {
        let store: SQLiteStore
        func notAfter(serials: [String]) async throws -> [String: Date] {
            var result: [String: Date] = [:]
            for serial in serials {
                if let record = try await store.certificate(serial: serial) { result[serial] = record.notAfter }
            }
            return result
        }
    }
}
