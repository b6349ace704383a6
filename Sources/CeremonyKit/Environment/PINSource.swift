#if canImport(Glibc)
import Glibc
#endif
import Foundation

/// How a PIN reaches the tool. DESIGN §3: a PIN is never read from the plan, argv or a log; it
/// comes from the terminal (echo off), an inherited file descriptor, or a file only its owner can
/// read. Anything else is refused.
public enum PINSource: Sendable, Equatable, CustomStringConvertible {
    case prompt
    case fileDescriptor(Int32)
    case file(String)

    /// Parses `prompt`, `fd:N` or `file:/absolute/path`.
    public init(parsing text: String) throws {
        if text == "prompt" {
            self = .prompt
        } else if text.hasPrefix("fd:"), let fd = Int32(text.dropFirst(3)), fd >= 0 {
            self = .fileDescriptor(fd)
        } else if text.hasPrefix("file:"), text.dropFirst(5).hasPrefix("/") {
            self = .file(String(text.dropFirst(5)))
        } else {
            throw CeremonyError.pin("pin-source must be 'prompt', 'fd:N' or 'file:/absolute/path' (got a value of \(text.count) characters; a PIN itself is never accepted here)")
        }
    }

    public var description: String {
        switch self {
        case .prompt: return "prompt"
        case .fileDescriptor(let fd): return "fd:\(fd)"
        case .file(let path): return "file:\(path)"
        }
    }

    /// Reads the PIN. The returned bytes are the caller's to zero after use.
    /// - Parameter prompt: what to show on the terminal for `.prompt`.
    public func readPIN(prompt: String) throws -> [UInt8] {
        var bytes: [UInt8]
        switch self {
        case .prompt:
            bytes = try Self.readFromTerminal(prompt: prompt)
        case .fileDescriptor(let fd):
            bytes = try Self.readAll(fd: fd, what: "fd:\(fd)")
        case .file(let path):
            try Self.checkPrivate(path: path)
            let fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)
            guard fd >= 0 else { throw CeremonyError.pin("cannot open the PIN file \(path): \(String(cString: strerror(errno)))") }
            defer { close(fd) }
            bytes = try Self.readAll(fd: fd, what: path)
        }
        // One trailing newline is the line terminator, not part of the PIN.
        if bytes.last == UInt8(ascii: "\n") { bytes.removeLast() }
        if bytes.last == UInt8(ascii: "\r") { bytes.removeLast() }
        guard !bytes.isEmpty else { throw CeremonyError.pin("the PIN from \(description) is empty") }
        return bytes
    }

    /// Refuses a PIN file that is not a regular file of ours with mode 0600 (or 0400).
    static func checkPrivate(path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw CeremonyError.pin("cannot read the PIN file \(path): \(String(cString: strerror(errno)))")
        }
        guard (info.st_mode & S_IFMT) == S_IFREG else { throw CeremonyError.pin("the PIN file \(path) is not a regular file") }
        let mode = info.st_mode & 0o777
        guard mode & 0o077 == 0 else {
            throw CeremonyError.pin("the PIN file \(path) has mode \(String(mode, radix: 8)); it must be 0600 (chmod 600 \(path))")
        }
        guard info.st_uid == geteuid() else { throw CeremonyError.pin("the PIN file \(path) is not owned by the user running the ceremony") }
    }

    static func readAll(fd: Int32, what: String) throws -> [UInt8] {
        var result: [UInt8] = []
        var buffer = [UInt8](repeating: 0, count: 256)
        while result.count < 4096 {
            let count = read(fd, &buffer, buffer.count)
            if count < 0 {
                if errno == EINTR { continue }
                throw CeremonyError.pin("cannot read the PIN from \(what): \(String(cString: strerror(errno)))")
            }
            if count == 0 { break }
            result += buffer[0..<count]
            // A PIN is one line: stop at the first newline so an fd left open is not waited on.
            if buffer[0..<count].contains(UInt8(ascii: "\n")) { break }
        }
        for i in buffer.indices { buffer[i] = 0 }
        if let newline = result.firstIndex(of: UInt8(ascii: "\n")) { result.removeSubrange((newline + 1)...) }
        return result
    }

    /// Reads one line from the controlling terminal with echo switched off.
    static func readFromTerminal(prompt: String) throws -> [UInt8] {
        let fd = open("/dev/tty", O_RDWR | O_CLOEXEC)
        guard fd >= 0 else {
            throw CeremonyError.pin("pin-source is 'prompt' but there is no terminal; use fd:N or file:/path")
        }
        defer { close(fd) }
        var original = termios()
        guard tcgetattr(fd, &original) == 0 else { throw CeremonyError.pin("cannot configure the terminal for a PIN prompt") }
        var silent = original
        silent.c_lflag &= ~tcflag_t(ECHO)
        silent.c_lflag |= tcflag_t(ECHONL)
        _ = prompt.withCString { write(fd, $0, strlen($0)) }
        guard tcsetattr(fd, TCSAFLUSH, &silent) == 0 else { throw CeremonyError.pin("cannot switch terminal echo off") }
        defer { _ = tcsetattr(fd, TCSAFLUSH, &original) }
        return try readAll(fd: fd, what: "the terminal")
    }
}
