#if canImport(Glibc)
    import Glibc
#elseif canImport(Darwin)
    import Darwin
#endif

/// A byte buffer for a secret (PIN, passphrase) that is wiped when it is released.
///
/// A class rather than an `Array`, because an array may be copied by the runtime at any time and
/// its old storage freed without being cleared; here there is exactly one heap allocation, owned
/// by this object, zeroed in `deinit` with `explicit_bzero` (which the compiler may not remove as
/// a dead store). The bytes are only reachable through the scoped ``withUnsafeBytes(_:)``, and
/// the value never prints: `description` and `debugDescription` are redacted so a PIN cannot end
/// up in a log or an error message by string interpolation.
public final class SecretBytes: @unchecked Sendable, CustomStringConvertible, CustomDebugStringConvertible {
    // Immutable after init; @unchecked Sendable is sound because nothing mutates the buffer
    // except `deinit`, which runs when no other reference exists.
    private let storage: UnsafeMutableRawBufferPointer

    /// Number of secret bytes.
    public var count: Int { _count }
    public var isEmpty: Bool { _count == 0 }

    /// Copies `bytes` into wiped-on-release storage. The caller should clear its own copy.
    public init<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        let array = Array(bytes)
        let buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: max(array.count, 1), alignment: 1)
        array.withUnsafeBytes { buffer.copyMemory(from: $0) }
        storage = buffer
        _count = array.count
    }

    /// Copies the UTF-8 bytes of `string` (for PINs typed at a prompt).
    public convenience init(utf8 string: String) {
        self.init(Array(string.utf8))
    }

    // The allocation is at least one byte so `baseAddress` is never nil; `_count` is the real length.
    private let _count: Int

    /// Gives scoped, read-only access to the secret. Do not let the pointer escape.
    public func withUnsafeBytes<Result>(_ body: (UnsafeRawBufferPointer) throws -> Result) rethrows -> Result {
        try body(UnsafeRawBufferPointer(start: storage.baseAddress, count: _count))
    }

    /// Constant-time comparison (for confirm-the-PIN prompts).
    public func isEqual(to other: SecretBytes) -> Bool {
        guard _count == other._count else { return false }
        var difference: UInt8 = 0
        for index in 0..<_count { difference |= storage[index] ^ other.storage[index] }
        return difference == 0
    }

    public var description: String { "SecretBytes(<redacted>)" }
    public var debugDescription: String { description }

    deinit {
        if let base = storage.baseAddress { explicit_bzero(base, storage.count) }
        storage.deallocate()
    }
}
