import NIOConcurrencyHelpers
import X509

/// Client certificates that passed the handshake check, parsed, by their exact DER bytes: an
/// agent presents the same certificate on every connection, and parsing it was the largest
/// non-cryptographic cost of a full handshake (~140 000 instructions, BENCHMARKS.md, issue #17).
///
/// Only the parse is saved. ``HandshakeVerifier`` still runs every check on the remembered
/// certificate for each handshake (chain for the current time and anchors, revocation,
/// registration). Equal DER bytes parse to the same certificate, so the remembered value is what
/// parsing would return. Only certificates that passed the check are remembered, so a client
/// presenting certificates that do not verify cannot fill it. It is bounded: when full it is
/// emptied, and certificates are parsed again.
final class ParsedLeafCache: Sendable {
    /// DER bytes, hashed once when the key is made and compared with one `memcmp`.
    fileprivate struct Key: Hashable, Sendable {
        let der: ArraySlice<UInt8>
        let digest: Int

        init(_ der: [UInt8]) {
            self.der = der[...]
            var hasher = Hasher()
            der.withUnsafeBytes { hasher.combine(bytes: $0) }
            self.digest = hasher.finalize()
        }

        func hash(into hasher: inout Hasher) { hasher.combine(digest) }

        static func == (lhs: Key, rhs: Key) -> Bool { lhs.digest == rhs.digest && lhs.der.hasSameBytes(as: rhs.der) }
    }

    private let entries = NIOLockedValueBox<[Key: Certificate]>([:])
    let capacity: Int

    /// - Parameter capacity: how many certificates to remember (0 remembers none).
    init(capacity: Int = 4096) { self.capacity = capacity }

    /// The certificate these DER bytes encode: remembered, or parsed (and not remembered: see
    /// ``remember(_:)``).
    func certificate(der: [UInt8]) throws -> Parsed {
        let key = Key(der)
        if let known = entries.withLockedValue({ $0[key] }) { return Parsed(certificate: known, key: key, remembered: true) }
        return Parsed(certificate: try Certificate(derEncoded: der), key: key, remembered: false)
    }

    /// Remembers a certificate that passed the handshake check.
    func remember(_ parsed: Parsed) {
        guard !parsed.remembered, capacity > 0 else { return }
        entries.withLockedValue {
            if $0.count >= capacity { $0.removeAll(keepingCapacity: true) }
            $0[parsed.key] = parsed.certificate
        }
    }

    /// How many certificates are remembered.
    var count: Int { entries.withLockedValue { $0.count } }

    /// A certificate and the key it is remembered under.
    struct Parsed: Sendable {
        let certificate: Certificate
        fileprivate let key: Key
        /// It came from the cache (nothing to remember).
        let remembered: Bool
    }
}
