import Foundation

/// The process-wide table of initialised PKCS#11 libraries, by path. Entries are weak, so a
/// library is finalised and closed as soon as nothing uses it any more.
final class LoadedModules: @unchecked Sendable {
    private struct Entry {
        weak var functions: CModuleFunctions?
    }

    private let lock = NSLock()
    private var entries: [String: Entry] = [:]

    func functions(for path: String) throws -> CModuleFunctions {
        try lock.withLock {
            if let existing = entries[path]?.functions { return existing }
            let functions = try CModuleFunctions(path: path)
            entries[path] = Entry(functions: functions)
            return functions
        }
    }
}
