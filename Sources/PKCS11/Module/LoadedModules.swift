import Foundation

/// The process-wide table of initialised PKCS#11 libraries, by path.
///
/// PKCS#11 allows one `C_Initialize` per process, so every ``PKCS11Module`` loaded from the same
/// path shares one ``CModuleFunctions``. Users are counted explicitly (not with weak references)
/// so that the last release calls `C_Finalize` inside the lock, before anyone can initialise the
/// library again (SoftHSM re-reads SOFTHSM2_CONF at the next `C_Initialize`).
final class LoadedModules: @unchecked Sendable {
    private var entries: [String: (functions: CModuleFunctions, users: Int)] = [:]
    private let lock = NSLock()

    func acquire(_ path: String) throws -> CModuleFunctions {
        try lock.withLock {
            if let entry = entries[path] {
                entries[path] = (entry.functions, entry.users + 1)
                return entry.functions
            }
            let functions = try CModuleFunctions(path: path)
            entries[path] = (functions, 1)
            return functions
        }
    }

    /// Called by each module's `deinit`; the last release finalises the library under the lock.
    func release(_ path: String) {
        lock.withLock {
            guard let entry = entries[path] else { return }
            if entry.users > 1 {
                entries[path] = (entry.functions, entry.users - 1)
            } else {
                entries[path] = nil
                entry.functions.shutDown()
            }
        }
    }
}
