/// Writes a CertificateList into one buffer, front to back.
///
/// Layout while building: `[headroom][entries ...][crlExtensions]`. The headroom is large
/// enough for the outer and TBS SEQUENCE headers, the fields before the entries, and the
/// revokedCertificates SEQUENCE header; once the entries' total length is known the headers are
/// written right-aligned into the headroom, the signature is appended, and the unused front
/// bytes are dropped with one in-place move. No entry is ever copied twice and no node tree is
/// built (RFC 5280 §5.1 structure, X.690 DER lengths).
struct CRLEncoder {
    private var buffer: [UInt8]
    private let prefix: [UInt8]
    private let extensions: [UInt8]
    private let signatureAlgorithm: [UInt8]
    private let headroom: Int
    private var tbsStart = 0
    private(set) var entryCount = 0

    /// Maximum header size: tag + 0x84 + 4 length octets (lengths stay below 4 GiB).
    private static let maxHeader = 6

    init(_ tbs: TBSCertList, expectedEntries: Int) throws {
        prefix = try tbs.encodedPrefix()
        extensions = tbs.encodedExtensions()
        signatureAlgorithm = try SignatureAlgorithmDER.encode(tbs.signatureAlgorithm)
        headroom = Self.maxHeader * 3 + prefix.count
        buffer = []
        // Typical entry: 128-bit serial + UTCTime + reason extension ≈ 50–60 bytes.
        buffer.reserveCapacity(headroom + expectedEntries * 64 + extensions.count + 1024)
        buffer.append(contentsOf: repeatElement(0, count: headroom))
    }

    /// Reserves room for `bytes` of pre-encoded entries instead of an estimate per entry.
    init(_ tbs: TBSCertList, expectedEntryBytes bytes: Int) throws {
        try self.init(tbs, expectedEntries: 0)
        buffer.reserveCapacity(headroom + bytes + extensions.count + 1024)
    }

    /// Appends `count` entries already DER-encoded and linted (``CRLEntryList``).
    mutating func appendEncoded(_ bytes: [UInt8], count: Int) {
        buffer.append(contentsOf: bytes)
        entryCount += count
    }

    @inline(__always)
    mutating func append(_ entry: RevokedCertificate) {
        entry.appendDER(to: &buffer)
        entryCount += 1
    }

    /// Writes the headers in front of the entries and the extensions after them.
    mutating func finishTBS() {
        let entriesLength = buffer.count - headroom
        buffer.append(contentsOf: extensions)
        var header: [UInt8] = []
        // revokedCertificates is absent when empty (RFC 5280 §5.1.2.6).
        if entriesLength > 0 { CompactDER.appendHeader(tag: DERTag.sequence, length: entriesLength, to: &header) }
        let tbsContent = prefix.count + header.count + entriesLength + extensions.count
        var tbsHeader: [UInt8] = []
        CompactDER.appendHeader(tag: DERTag.sequence, length: tbsContent, to: &tbsHeader)
        let front = tbsHeader + prefix + header
        tbsStart = headroom - front.count
        buffer.replaceSubrange(tbsStart..<headroom, with: front)
    }

    /// The TBSCertList bytes (valid after ``finishTBS()``).
    var tbsBytes: ArraySlice<UInt8> { buffer[tbsStart...] }

    /// Appends signatureAlgorithm and signatureValue, writes the outer header, and returns the
    /// CertificateList DER.
    mutating func finish(signatureBytes: [UInt8]) throws -> [UInt8] {
        let tbsLength = buffer.count - tbsStart
        buffer.append(contentsOf: signatureAlgorithm)
        CompactDER.appendHeader(tag: DERTag.bitString, length: signatureBytes.count + 1, to: &buffer)
        buffer.append(0)  // no unused bits
        buffer.append(contentsOf: signatureBytes)
        let contentLength = tbsLength + signatureAlgorithm.count + CompactDER.tlvSize(signatureBytes.count + 1)
        var outer: [UInt8] = []
        CompactDER.appendHeader(tag: DERTag.sequence, length: contentLength, to: &outer)
        let start = tbsStart - outer.count
        buffer.replaceSubrange(start..<tbsStart, with: outer)
        buffer.removeSubrange(0..<start)
        var result: [UInt8] = []
        swap(&result, &buffer)
        return result
    }
}
