import Foundation
import TestSupport

/// The `sqlite3` command-line tool, an independent reader/editor of the store's file.
enum SQLiteShell {

    /// Runs `sql` against `path` and returns standard output (trimmed).
    @discardableResult
    static func run(_ path: String, _ sql: String) throws -> String {
        let result = try ExternalTool("sqlite3").run([path, sql], timeout: 60)
        guard result.succeeded else { throw TestFailure("sqlite3 failed: \(result.stderr)") }
        return result.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
