import Foundation
import PKICore
import SecureFiles

#if canImport(Glibc)
    import Glibc
#endif

/// What `appliance serve` does to its own process before it touches a key (issue 7): no core
/// dumps and no tracing (``ProcessProtection``, shared with `ceremony`), a 077 umask for everything it writes, and no
/// running as root unless it drops to an unprivileged user once its ports are bound.
public enum ProcessHardening {
    /// Applies the limits that need no privileges. Fails closed: if the process cannot be made
    /// undumpable, it does not serve.
    public static func apply() throws {
        umask(0o077)
        do {
            try ProcessProtection.forbidCoreDumpsAndTracing()
        } catch {
            throw ApplianceError.hardening("\(error)")
        }
    }

    /// Whether the process is currently dumpable (for tests and `health`).
    public static var isDumpable: Bool { ProcessProtection.isDumpable }

    /// The user to run as after binding, or nil to keep the current one. Running as root without
    /// a user to drop to is refused.
    public static func checkUser(configuredUser: String?) throws -> (uid: uid_t, gid: gid_t)? {
        guard geteuid() == 0 else { return nil }
        guard let name = configuredUser, !name.isEmpty else {
            throw ApplianceError.hardening(
                "refusing to serve as root: set `user:` in the configuration (an unprivileged account that owns the state directory), or start as that user"
            )
        }
        guard let account = SystemAccount.named(name) else { throw ApplianceError.hardening("user '\(name)' does not exist") }
        guard account.uid != 0 else { throw ApplianceError.hardening("user '\(name)' is root; choose an unprivileged account") }
        return (account.uid, account.gid)
    }

    /// Refuses a state directory the serving account does not own (issue 7: "the state directory
    /// is owned by that user"): otherwise files the service creates would be unreadable to the
    /// next start, or root-owned files would be left where the service cannot replace them.
    public static func checkStateOwner(_ path: String, serving uid: uid_t, user: String?) throws {
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw ApplianceError.stateDirectory("cannot read \(path): \(String(cString: strerror(errno)))")
        }
        guard info.st_uid == uid else {
            let who = user.map { "user '\($0)' (uid \(uid))" } ?? "uid \(uid)"
            throw ApplianceError.hardening(
                "the state directory \(path) belongs to uid \(info.st_uid); \(who) serves and must own it (chown -R \(user ?? String(uid)): \(path))")
        }
    }

    /// Runs this same command again as `account`, through util-linux `setpriv` (exec, not fork).
    ///
    /// setuid(2) from a running Swift process does not reliably reach every thread (the main
    /// thread stayed root in testing), so the whole process is replaced instead. The secret
    /// already read (possibly from a root-only file) is handed over through a pipe whose read end
    /// becomes `--passphrase-fd N` / `--pin-source fd:N`; it never appears in argv or the environment.
    /// - Parameters:
    ///   - arguments: the original argv; secret options are removed and replaced.
    ///   - secretOption: builds the replacement option from the descriptor number.
    public static func reexec(
        as account: (uid: uid_t, gid: gid_t), secret: SecretBytes, arguments: [String], secretOption: (Int32) -> [String]
    ) throws -> Never {
        var fds: [Int32] = [0, 0]
        guard pipe(&fds) == 0 else { throw ApplianceError.hardening("pipe() failed: \(String(cString: strerror(errno)))") }
        let written = secret.withUnsafeBytes { write(fds[1], $0.baseAddress, $0.count) }
        _ = write(fds[1], "\n", 1)
        close(fds[1])
        guard written == secret.count else { throw ApplianceError.hardening("cannot hand the secret to the unprivileged process") }
        var kept: [String] = []
        var index = 1
        let secretFlags: Set<String> = ["--passphrase-file", "--passphrase-fd", "--pin-source"]
        while index < arguments.count {
            let argument = arguments[index]
            if secretFlags.contains(argument) {
                index += 2
                continue
            }
            if secretFlags.contains(where: { argument.hasPrefix($0 + "=") }) {
                index += 1
                continue
            }
            kept.append(argument)
            index += 1
        }
        let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath().path
        let command =
            [
                "/usr/bin/setpriv", "--reuid=\(account.uid)", "--regid=\(account.gid)", "--clear-groups",
                "--inh-caps=-all", "--", executable,
            ] + kept + secretOption(fds[0])
        let argv: [UnsafeMutablePointer<CChar>?] = command.map { strdup($0) } + [nil]
        execv(command[0], argv)
        throw ApplianceError.hardening("cannot exec \(command[0]) to drop privileges: \(String(cString: strerror(errno)))")
    }

    /// Drops to `uid`/`gid` permanently (groups cleared first); verifies root cannot be regained.
    public static func dropPrivileges(to account: (uid: uid_t, gid: gid_t)) throws {
        guard setgroups(0, nil) == 0, setgid(account.gid) == 0, setuid(account.uid) == 0 else {
            throw ApplianceError.hardening("cannot drop privileges to uid \(account.uid): \(String(cString: strerror(errno)))")
        }
        guard setuid(0) != 0 else { throw ApplianceError.hardening("privileges were not dropped: setuid(0) still succeeds") }
        // setuid resets the dumpable flag; set it again.
        do {
            try ProcessProtection.forbidTracing()
        } catch {
            throw ApplianceError.hardening("after dropping privileges: \(error)")
        }
    }
}
