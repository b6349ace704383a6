import Foundation
import PKICore
import Testing
import X509

@testable import ApplianceKit

/// ``OCSPRequestMemo``: what it remembers is what decoding gives, it stays bounded whatever is
/// sent, and it holds only what it was told.
@Suite struct OCSPRequestMemoTests {
    static func certID(serial: UInt8) throws -> OCSPCertID {
        try OCSPCertID(
            hashAlgorithm: .sha1, issuerNameHash: [UInt8](repeating: 1, count: 20), issuerKeyHash: [UInt8](repeating: 2, count: 20),
            serialNumber: .init(bytes: [serial]))
    }

    @Test func remembersByExactBytes() throws {
        let memo = OCSPRequestMemo(capacity: 8)
        let a = try Self.certID(serial: 1)
        memo.remember([0x30, 0x01, 0x00], certID: a)
        #expect(memo.certID(of: [0x30, 0x01, 0x00]) == a)
        #expect(memo.certID(of: [0x30, 0x01, 0x01]) == nil, "a request differing in one byte must be decoded again")
        #expect(memo.certID(of: [0x30, 0x01]) == nil)
    }

    @Test func boundedByItsCapacity() throws {
        let memo = OCSPRequestMemo(capacity: 4)
        for serial in UInt8(0)..<100 {
            memo.remember([0x30, serial], certID: try Self.certID(serial: serial))
            #expect(memo.count <= 4)
        }
        #expect(memo.certID(of: [0x30, 99]) == (try Self.certID(serial: 99)))
    }
}
