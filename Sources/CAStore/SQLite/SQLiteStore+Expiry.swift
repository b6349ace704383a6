import Foundation
import GRDB
import Registration

extension SQLiteStore: CertificateExpiryLookup {
    /// Serials bound per statement: below SQLite's historical limit of 999 host parameters
    /// (SQLITE_MAX_VARIABLE_NUMBER before 3.32), so any linked SQLite accepts it.
    static let expiryChunk = 900

    /// notAfter of each serial the store knows, in one read transaction of one
    /// `SELECT serial, not_after … WHERE serial IN (…)` per ``expiryChunk`` serials — the CRL
    /// publisher prunes expired entries (RFC 5280 §3.3) of a 1 000 000-entry CRL with ~1 100
    /// statements instead of one query per entry. Unknown serials are absent from the answer.
    public func notAfter(serials: [String]) async throws -> [String: Date] {
        guard !serials.isEmpty else { return [:] }
        return try await read("expiry of \(serials.count) certificates") { db in
            var result: [String: Date] = [:]
            result.reserveCapacity(serials.count)
            var start = serials.startIndex
            while start < serials.endIndex {
                let end = min(start + Self.expiryChunk, serials.endIndex)
                let chunk = Array(serials[start..<end])
                let placeholders = Array(repeating: "?", count: chunk.count).joined(separator: ",")
                let rows = try Row.fetchCursor(
                    db, sql: "SELECT serial, not_after FROM certificates WHERE serial IN (\(placeholders))",
                    arguments: StatementArguments(chunk))
                while let row = try rows.next() {
                    result[row["serial"]] = Date(timeIntervalSince1970: row["not_after"])
                }
                start = end
            }
            return result
        }
    }
}
