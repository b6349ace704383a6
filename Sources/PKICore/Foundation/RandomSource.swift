import Crypto
import Foundation

/// The source of random bytes for serial numbers, nonces and identifiers. Injected so tests can
/// use a seeded, repeatable source; production uses ``SystemRandomSource`` (the OS CSPRNG).
public protocol RandomSource: Sendable {
    /// Returns `count` random bytes.
    func bytes(_ count: Int) -> [UInt8]
}

/// The operating system's cryptographically secure generator (`SystemRandomNumberGenerator`,
/// getrandom(2) on Linux).
public struct SystemRandomSource: RandomSource {
    public init() {}
    public func bytes(_ count: Int) -> [UInt8] {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in UInt8.random(in: .min ... .max, using: &generator) }
    }
}

/// A deterministic source for tests: SHA-256 in counter mode over a seed. Never use it to issue
/// real certificates.
public final class SeededRandomSource: RandomSource, @unchecked Sendable {
    private let lock = NSLock()
    private let seed: [UInt8]
    private var counter: UInt64 = 0

    public init(seed: UInt64) {
        self.seed = withUnsafeBytes(of: seed.bigEndian) { Array($0) }
    }

    public func bytes(_ count: Int) -> [UInt8] {
        lock.withLock {
            var out: [UInt8] = []
            out.reserveCapacity(count)
            while out.count < count {
                counter += 1
                let block = withUnsafeBytes(of: counter.bigEndian) { Array($0) }
                out += SHA256.hash(data: seed + block)
            }
            return Array(out.prefix(count))
        }
    }
}
