import X509

/// Something that hands out serial numbers for new certificates. The issuer asks one per
/// certificate; stores may wrap a generator to enforce uniqueness.
public protocol SerialNumberSource: Sendable {
    /// The next serial number.
    func next() throws -> Certificate.SerialNumber
}

/// Random serial numbers per RFC 5280 §4.1.2.2 and docs/profiles.md#serial-numbers: 16 octets from the injected
/// ``RandomSource`` with the top bit cleared, so the INTEGER is positive, fits in 20 octets, and
/// carries 127 bits of CSPRNG output (well above the 64-bit floor).
public struct SerialNumberGenerator: SerialNumberSource {
    /// Number of random octets drawn per serial.
    public static let octets = 16
    let random: any RandomSource

    public init(random: any RandomSource) { self.random = random }

    public func next() throws -> Certificate.SerialNumber {
        // An all-zero draw (probability 2^-127) would be serial 0, which RFC 5280 forbids; a
        // source that keeps producing it is broken, so give up after a few attempts (fail closed).
        for _ in 0..<4 {
            var bytes = random.bytes(Self.octets)
            guard bytes.count == Self.octets else {
                throw PKIError.invalidParameter("random source returned \(bytes.count) bytes, wanted \(Self.octets)")
            }
            bytes[0] &= 0x7f
            if bytes.contains(where: { $0 != 0 }) {
                return Certificate.SerialNumber(bytes: bytes)
            }
        }
        throw PKIError.invalidParameter("random source produced only zero serial numbers")
    }
}
