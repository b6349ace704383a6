import Foundation
import PKICore

#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// Where a passphrase or PIN comes from (docs/commands.md#secrets): a file only its owner can read
/// (`--passphrase-file`, mode 0600), an inherited file descriptor (`--passphrase-fd N`) or the
/// terminal with echo off. Never argv or the environment, so it cannot leak through `ps` or
/// `/proc/<pid>/environ`; the secret never appears in an error message either.
public enum SecretSource: Sendable, Equatable, CustomStringConvertible {
    case prompt
    case fileDescriptor(Int32)
    case file(String)

    /// Parses a PIN source as for `ceremony`: `prompt`, `fd:N` or `file:/absolute/path`.
    public init(parsing text: String) throws {
        if text == "prompt" {
            self = .prompt
        } else if text.hasPrefix("fd:"), let fd = Int32(text.dropFirst(3)), fd >= 0 {
            self = .fileDescriptor(fd)
        } else if text.hasPrefix("file:"), text.dropFirst(5).hasPrefix("/") {
            self = .file(String(text.dropFirst(5)))
        } else {
            throw SecureFileError(
                .invalidSecretSource,
                "a PIN or passphrase source must be 'prompt', 'fd:N' or 'file:/absolute/path' (got a value of \(text.count) characters; a secret itself is never accepted here)"
            )
        }
    }

    public var description: String {
        switch self {
        case .prompt: "prompt"
        case .fileDescriptor(let fd): "fd:\(fd)"
        case .file(let path): "file:\(path)"
        }
    }

    /// Reads the secret (one line; a trailing newline is not part of it).
    /// - Parameter prompt: shown on the terminal for ``prompt``.
    public func read(prompt: String) throws -> SecretBytes {
        var bytes: [UInt8]
        switch self {
        case .prompt:
            bytes = try Self.readFromTerminal(prompt: prompt)
        case .fileDescriptor(let fd):
            bytes = try Self.readLine(fd: fd, what: "fd:\(fd)")
        case .file(let path):
            try Self.checkPrivate(path: path)
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else {
                throw SecureFileError(
                    .ioFailure,
                    "cannot open \(path): \(String(cString: strerror(errno))); check the path (a file only its reader can read, mode 0600)")
            }
            defer { close(fd) }
            bytes = try Self.readLine(fd: fd, what: path)
        }
        defer { for index in bytes.indices { bytes[index] = 0 } }
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw SecureFileError(.invalidSecretSource, "the secret from \(description) is empty") }
        return SecretBytes(bytes)
    }

    /// Checks what can be checked without reading the secret: for a file, that it exists, is a
    /// regular file of ours and nobody else can read it (`ceremony check`). Prompt and fd: nothing.
    public func checkWithoutReading() throws {
        if case .file(let path) = self { try Self.checkPrivate(path: path) }
    }

    /// Refuses a secret file that is not a regular file of ours with no group/other access.
    static func checkPrivate(path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw SecureFileError(
                .ioFailure,
                "cannot read \(path): \(String(cString: strerror(errno))); check the path (the secret belongs in a file only its reader can read, mode 0600)"
            )
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw SecureFileError(.unexpectedFile, "\(path) is not a regular file") }
        // A systemd credential (LoadCredential=) is root's 0400 file with an ACL for the service user.
        if SystemdCredential.isCredential(path: path) { return try SystemdCredential.checkPrivate(path: path, info: info) }
        let mode = Int(info.st_mode & 0o777)
        guard mode & 0o077 == 0 else {
            throw SecureFileError(
                .insecurePermissions, "secret file \(path) has mode \(String(format: "%04o", mode)); it must be 0600 (chmod 600 \(path))")
        }
        guard info.st_uid == geteuid() else { throw SecureFileError(.insecurePermissions, "secret file \(path) is not owned by the current user") }
    }

    /// Reads up to the first newline (so an fd left open by the parent is not waited on).
    static func readLine(fd: Int32, what: String) throws -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        defer { for index in buffer.indices { buffer[index] = 0 } }
        while result.count < 4096 {
            let count = Glibc.read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw SecureFileError(.ioFailure, "cannot read the secret from \(what): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            result += buffer[0..<count]
            if buffer[0..<count].contains(UInt8(ascii: "\n")) { break }
        }
        if let newline = result.firstIndex(of: UInt8(ascii: "\n")) {
            for index in (newline + 1)..<result.count { result[index] = 0 }
            result.removeSubrange((newline + 1)...)
        }
        return result
    }

    static func readFromTerminal(prompt: String) throws -> [UInt8] {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw SecureFileError(.invalidSecretSource, "there is no terminal to prompt on; use a file (0600) or a file descriptor instead")
        }
        defer { close(fd) }
        var original = termios()
        guard tcgetattr(fd, &original) == 0 else { throw SecureFileError(.ioFailure, "cannot configure the terminal for a prompt") }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        guard tcsetattr(fd, TCSAFLUSH, &silent) == 0 else { throw SecureFileError(.ioFailure, "cannot switch terminal echo off") }
        defer { _ = tcsetattr(fd, TCSAFLUSH, &original) }
        return try readLine(fd: fd, what: "the terminal")
    }
}
