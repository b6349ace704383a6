internal import CHardening

#if canImport(Glibc)
    import Glibc
#endif

/// Keeps secrets held in this process's memory (a token PIN, a key passphrase, an unlocked key)
/// out of core files and away from other processes: RLIMIT_CORE 0 and PR_SET_DUMPABLE 0. The
/// latter also makes /proc/<pid>/mem, environ and ptrace unavailable even to processes of the same
/// user (proc(5), ptrace(2) "ptrace access mode checking").
///
/// Shared by `appliance serve` and `ceremony`: one implementation of the one C call (prctl is
/// variadic, so it lives in the CHardening shim).
public enum ProcessProtection {
    /// Forbids core dumps and tracing. Fails closed: a process that cannot be made undumpable
    /// must not go on to read a secret.
    public static func forbidCoreDumpsAndTracing() throws {
        var limit = rlimit(rlim_cur: 0, rlim_max: 0)
        guard setrlimit(Int32(RLIMIT_CORE.rawValue), &limit) == 0 else {
            throw SecureFileError(.ioFailure, "setrlimit(RLIMIT_CORE, 0) failed: \(String(cString: strerror(errno)))")
        }
        try forbidTracing()
    }

    /// PR_SET_DUMPABLE 0 only: needed again after setuid(2), which resets the flag.
    public static func forbidTracing() throws {
        guard rootkeeper_set_dumpable(0) == 0 else {
            throw SecureFileError(.ioFailure, "prctl(PR_SET_DUMPABLE, 0) failed: \(String(cString: strerror(errno)))")
        }
    }

    /// Whether the process is currently dumpable (for tests and `health`).
    public static var isDumpable: Bool { rootkeeper_get_dumpable() != 0 }
}
