#if canImport(Glibc)
    import Glibc
#endif

/// A local account looked up by name with the re-entrant `getpwnam_r`.
///
/// `getpwnam` returns a pointer into one static buffer that a lookup on any other thread
/// overwrites; the test suite once handed its PostgreSQL directory to uid 38 instead of
/// `postgres` that way. Every lookup of an account by name goes through here.
public struct SystemAccount: Sendable, Equatable {
    public let name: String
    public let uid: uid_t
    public let gid: gid_t

    public init(name: String, uid: uid_t, gid: gid_t) {
        self.name = name
        self.uid = uid
        self.gid = gid
    }

    /// The account called `name`, or `nil` when there is none (or the lookup itself fails).
    public static func named(_ name: String) -> SystemAccount? {
        var entry = passwd()
        var result: UnsafeMutablePointer<passwd>?
        var size = max(Int(sysconf(Int32(_SC_GETPW_R_SIZE_MAX))), 1024)
        while true {
            var buffer = [CChar](repeating: 0, count: size)
            let status = getpwnam_r(name, &entry, &buffer, size, &result)
            // ERANGE: the entry does not fit the buffer; any other error or no entry: none.
            if status == ERANGE, size < 1 << 20 {
                size *= 2
                continue
            }
            guard status == 0, result != nil else { return nil }
            return SystemAccount(name: name, uid: entry.pw_uid, gid: entry.pw_gid)
        }
    }
}
