import Foundation
import PKICore
import X509

/// Formats as openssl prints them (`ASN1_TIME_print`, `i2a_ASN1_INTEGER`).
enum OpenSSLText {
    /// `Jun  1 12:00:00 2026 GMT`: month, day padded with a space, UTC.
    static func date(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let c = calendar.dateComponents([.year, .month, .day, .hour, .minute, .second], from: date)
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        let day = c.day! < 10 ? " \(c.day!)" : "\(c.day!)"
        return String(format: "%@ %@ %02d:%02d:%02d %d GMT", months[c.month! - 1], day, c.hour!, c.minute!, c.second!, c.year!)
    }

    /// Uppercase hex, two digits an octet.
    static func hex(_ bytes: some Sequence<UInt8>) -> String { bytes.map { String(format: "%02X", $0) }.joined() }

    /// A serial as openssl prints it: the magnitude without leading zero octets.
    static func serial(_ serial: Certificate.SerialNumber) -> String {
        let bytes = Array(serial.bytes.drop(while: { $0 == 0 }))
        return hex(bytes.isEmpty ? [0] : bytes)
    }

    /// The value after `label` on a line of `lines` starting at `index`, or nil when that line has another label.
    static func value(_ lines: [Substring], _ index: Int, _ label: String) -> String? {
        guard index < lines.count else { return nil }
        let line = lines[index].trimmingCharacters(in: .whitespaces)
        guard line.hasPrefix(label) else { return nil }
        return String(line.dropFirst(label.count)).trimmingCharacters(in: .whitespaces)
    }
}

/// What `openssl crl -noout -text` shows of a CRL: its update times, number and every entry.
struct OpenSSLCRLText {
    struct Entry: Equatable, CustomStringConvertible {
        var serial: String
        var revocationDate: String
        var reason: String?
        var invalidityDate: String?

        /// openssl's wording of a reason code in CRL entries (crypto/x509/v3_enum.c).
        static let reasonNames: [RevocationReason: String] = [
            .unspecified: "Unspecified", .keyCompromise: "Key Compromise", .caCompromise: "CA Compromise",
            .affiliationChanged: "Affiliation Changed", .superseded: "Superseded", .cessationOfOperation: "Cessation Of Operation",
            .certificateHold: "Certificate Hold", .removeFromCRL: "Remove From CRL", .privilegeWithdrawn: "Privilege Withdrawn",
            .aaCompromise: "AA Compromise",
        ]

        init(serial: String, revocationDate: String) {
            self.serial = serial
            self.revocationDate = revocationDate
        }

        /// What openssl should print for `entry`.
        init(_ entry: RevokedCertificate) {
            serial = OpenSSLText.serial(entry.serialNumber)
            revocationDate = OpenSSLText.date(entry.revocationDate)
            reason = entry.reason.flatMap { Self.reasonNames[$0] }
            invalidityDate = entry.invalidityDate.map(OpenSSLText.date)
        }

        var description: String { "\(serial) \(revocationDate) \(reason ?? "-") \(invalidityDate ?? "-")" }
    }

    var lastUpdate: String?
    var nextUpdate: String?
    var crlNumber: String?
    var entries: [Entry] = []

    init(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if let value = OpenSSLText.value(lines, index, "Last Update:") { lastUpdate = value }
            if let value = OpenSSLText.value(lines, index, "Next Update:") { nextUpdate = value }
            if line.hasPrefix("X509v3 CRL Number:") { crlNumber = OpenSSLText.value(lines, index + 1, "") }
            if let serial = OpenSSLText.value(lines, index, "Serial Number:") {
                entries.append(Entry(serial: serial, revocationDate: OpenSSLText.value(lines, index + 1, "Revocation Date:") ?? "?"))
            }
            if line.hasPrefix("X509v3 CRL Reason Code:") { entries[entries.count - 1].reason = OpenSSLText.value(lines, index + 1, "") }
            if line.hasPrefix("Invalidity Date:") { entries[entries.count - 1].invalidityDate = OpenSSLText.value(lines, index + 1, "") }
        }
    }
}

/// What `openssl ocsp -respin -resp_text` shows of a basic response.
struct OpenSSLOCSPText {
    struct Single: Equatable, CustomStringConvertible {
        var hashAlgorithm: String
        var serial: String
        var status: String
        var revocationTime: String?
        var reason: String?
        var thisUpdate: String?
        var nextUpdate: String?

        init(hashAlgorithm: String, serial: String) {
            self.hashAlgorithm = hashAlgorithm
            self.serial = serial
            self.status = "?"
        }

        /// What openssl should print for `single` (reason names as in RFC 5280's ASN.1, like ours).
        init(_ single: OCSPSingleResponse) {
            hashAlgorithm = single.certID.hashAlgorithm == .sha1 ? "sha1" : "sha256"
            serial = OpenSSLText.serial(single.certID.serialNumber)
            switch single.status {
            case .good: status = "good"
            case .unknown: status = "unknown"
            case .revoked(let time, let reason):
                status = "revoked"
                revocationTime = OpenSSLText.date(time)
                // openssl's OCSP reason table (crypto/ocsp/ocsp_prn.c) stops at privilegeWithdrawn
                // and prints aACompromise (10) as "(UNKNOWN)": a display gap, the code is right.
                self.reason = reason.map { "\($0 == .aaCompromise ? "(UNKNOWN)" : $0.name) (0x\(String($0.rawValue, radix: 16)))" }
            }
            thisUpdate = OpenSSLText.date(single.thisUpdate)
            nextUpdate = single.nextUpdate.map(OpenSSLText.date)
        }

        var description: String {
            "\(hashAlgorithm) \(serial) \(status) \(revocationTime ?? "-") \(reason ?? "-") \(thisUpdate ?? "-") \(nextUpdate ?? "-")"
        }
    }

    var producedAt: String?
    var responses: [Single] = []
    var nonceHex: String?

    init(_ text: String) {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        for (index, raw) in lines.enumerated() {
            let line = raw.trimmingCharacters(in: .whitespaces)
            if let value = OpenSSLText.value(lines, index, "Produced At:") { producedAt = value }
            if let value = OpenSSLText.value(lines, index, "Hash Algorithm:") {
                responses.append(Single(hashAlgorithm: value, serial: OpenSSLText.value(lines, index + 3, "Serial Number:") ?? "?"))
            }
            guard !responses.isEmpty else { continue }
            let last = responses.count - 1
            if let value = OpenSSLText.value(lines, index, "Cert Status:") { responses[last].status = value }
            if let value = OpenSSLText.value(lines, index, "Revocation Time:") { responses[last].revocationTime = value }
            if let value = OpenSSLText.value(lines, index, "Revocation Reason:") { responses[last].reason = value }
            if let value = OpenSSLText.value(lines, index, "This Update:") { responses[last].thisUpdate = value }
            if let value = OpenSSLText.value(lines, index, "Next Update:") { responses[last].nextUpdate = value }
            if line.hasPrefix("OCSP Nonce:") { nonceHex = OpenSSLText.value(lines, index + 1, "") }
        }
    }
}
