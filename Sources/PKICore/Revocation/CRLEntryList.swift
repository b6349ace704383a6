import Foundation
import X509

/// The revokedCertificates of a CRL kept between generations, already DER-encoded, with each
/// certificate's notAfter so expired entries can be pruned (RFC 5280 §3.3).
///
/// A publisher that keeps one of these needs, after a revocation, only to ``append(_:notAfter:)``
/// the new entries and ``removeExpired(at:)``; ``CRLSigner/sign(_:entries:previousCRLNumber:)``
/// then copies the bytes into the TBSCertList instead of re-encoding a million entries.
///
/// Lint: every entry passes the entry-level rules (acceptable reason code, unique serial) when it
/// is appended, and the list can only change through ``append(_:notAfter:)`` and
/// ``removeExpired(at:)``, so a list is always lint-clean. Serial uniqueness is checked with a
/// 64-bit hash per entry (8 bytes instead of the 20-octet serial); a hash match is confirmed
/// against the encoded entries before it is reported, so the check is exact.
///
/// Memory for 1 000 000 entries: ~49 MB of DER, 4 MB of offsets, 8 MB of notAfter, ~16 MB of hashes.
public struct CRLEntryList: Sendable {
    /// The concatenated entry TLVs (the content of revokedCertificates).
    public private(set) var encoded: [UInt8] = []
    /// End offset in ``encoded`` of each entry.
    private var ends: [UInt32] = []
    /// notAfter of each entry in whole seconds since 1970; `Int64.max` when unknown (kept: fail closed).
    private var expiries: [Int64] = []
    private var hashes = Set<UInt64>()
    /// Set once two different serials shared a hash: removals must then rebuild ``hashes``.
    private var hashCollided = false
    /// The earliest notAfter in the list, so ``removeExpired(at:)`` is O(1) when nothing expired.
    private var earliestExpiry = Int64.max
    private var reasons = CRLAcceptableReasonCodesRule()

    /// - Parameter expectedEntries: capacity to reserve (a full rebuild knows the count).
    public init(expectedEntries: Int = 0) {
        encoded.reserveCapacity(expectedEntries * 56)
        ends.reserveCapacity(expectedEntries)
        expiries.reserveCapacity(expectedEntries)
        hashes.reserveCapacity(expectedEntries)
    }

    public var count: Int { ends.count }

    /// Whether an entry for `serial` is in the list.
    public func contains(_ serial: Certificate.SerialNumber) throws -> Bool {
        let key = Self.canonical(serial.bytes)
        guard hashes.contains(Self.hash(key)) else { return false }
        return try serials().contains { $0.elementsEqual(key) }
    }

    /// Lints and appends one entry. Throws `lintFailure` (reason code, duplicate serial) and
    /// leaves the list unchanged.
    /// - Parameter notAfter: the certificate's notAfter; nil keeps the entry until a rebuild knows it.
    public mutating func append(_ entry: RevokedCertificate, notAfter: Date?) throws {
        if let failure = reasons.checkEntry(entry) { throw Self.lint(CRLAcceptableReasonCodesRule.self, failure) }
        let key = Self.canonical(entry.serialNumber.bytes)
        let hash = Self.hash(key)
        if !hashes.insert(hash).inserted {
            if try serials().contains(where: { $0.elementsEqual(key) }) {
                throw Self.lint(CRLUniqueSerialsRule.self, "serial \(entry.serialNumber.revocationHex) is listed more than once")
            }
            hashCollided = true
        }
        guard encoded.count < Int(UInt32.max) - 4096 else {
            throw PKIError.invalidParameter("CRL entries exceed 4 GiB")
        }
        entry.appendDER(to: &encoded)
        ends.append(UInt32(encoded.count))
        let expiry = notAfter.map { Int64(DERTime.seconds($0)) } ?? Int64.max
        expiries.append(expiry)
        earliestExpiry = min(earliestExpiry, expiry)
    }

    /// Removes the entries whose certificate expired before `now` (RFC 5280 §3.3: an entry may
    /// be removed once the certificate has expired; docs/lifecycle.md#intermediate-crl prunes them). Returns how many.
    @discardableResult
    public mutating func removeExpired(at now: Date) throws -> Int {
        let cutoff = Int64(DERTime.seconds(now))
        guard earliestExpiry < cutoff else { return 0 }
        var keptBytes: [UInt8] = []
        keptBytes.reserveCapacity(encoded.count)
        var keptEnds: [UInt32] = []
        keptEnds.reserveCapacity(ends.count)
        var keptExpiries: [Int64] = []
        keptExpiries.reserveCapacity(expiries.count)
        var removed: [ArraySlice<UInt8>] = []
        var start = 0
        for index in ends.indices {
            let end = Int(ends[index])
            if expiries[index] < cutoff {
                removed.append(try Self.serial(of: encoded[start..<end]))
            } else {
                keptBytes.append(contentsOf: encoded[start..<end])
                keptEnds.append(UInt32(keptBytes.count))
                keptExpiries.append(expiries[index])
            }
            start = end
        }
        if hashCollided {
            // Two serials share a hash: removing one hash could forget the other; rebuild the set.
            var rebuilt = Set<UInt64>(minimumCapacity: keptEnds.count)
            var from = 0
            for end in keptEnds {
                rebuilt.insert(Self.hash(try Self.serial(of: keptBytes[from..<Int(end)])))
                from = Int(end)
            }
            hashes = rebuilt
        } else {
            for serial in removed { hashes.remove(Self.hash(serial)) }
        }
        encoded = keptBytes
        ends = keptEnds
        expiries = keptExpiries
        earliestExpiry = keptExpiries.min() ?? Int64.max
        return removed.count
    }

    /// The serial magnitude of every entry, decoded from ``encoded`` (rare: hash matches only).
    private func serials() throws -> [ArraySlice<UInt8>] {
        var result: [ArraySlice<UInt8>] = []
        result.reserveCapacity(ends.count)
        var start = 0
        for end in ends {
            result.append(try Self.serial(of: encoded[start..<Int(end)]))
            start = Int(end)
        }
        return result
    }

    /// The serial of one encoded entry, in ``canonical(_:)`` form.
    private static func serial(of entry: ArraySlice<UInt8>) throws -> ArraySlice<UInt8> {
        var outer = CompactDERReader(entry)
        var reader = CompactDERReader(try outer.read(tag: DERTag.sequence, "CRL entry").content)
        return canonical(try CompactDERReader.unsignedMagnitude(reader.read(tag: DERTag.integer, "CRL entry serial").content, "CRL entry serial"))
    }

    /// The serial's magnitude without leading zero octets (how it is encoded and decoded).
    private static func canonical<C: Collection<UInt8>>(_ bytes: C) -> ArraySlice<UInt8> {
        let trimmed = Array(bytes.drop(while: { $0 == 0 }))
        return trimmed.isEmpty ? [0][...] : trimmed[...]
    }

    private static func hash(_ serial: ArraySlice<UInt8>) -> UInt64 {
        var hasher = Hasher()
        hasher.combine(serial.count)
        serial.withUnsafeBytes { hasher.combine(bytes: $0) }
        return UInt64(bitPattern: Int64(hasher.finalize()))
    }

    private static func lint<Rule: CRLLintRule>(_ rule: Rule.Type, _ failure: String) -> PKIError {
        PKIError.lint("\(Rule.name) (\(Rule.citation)): \(failure)")
    }
}
