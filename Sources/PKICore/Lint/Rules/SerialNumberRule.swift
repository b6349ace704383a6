import X509

/// RFC 5280 §4.1.2.2: the serial number MUST be a positive integer of no more than 20 octets
/// (zero is not positive), and docs/profiles.md#serial-numbers asks for at least 64 bits of CSPRNG output, so a serial
/// shorter than 8 octets cannot be one of ours.
///
/// swift-certificates keeps the serial as its unsigned magnitude (leading zeros stripped) and
/// adds a 0x00 octet when encoding a magnitude whose top bit is set, so an encoded serial is
/// never negative; the length check therefore counts that extra octet.
public struct SerialNumberRule: LintRule {
    public let name = "e_serial_number_form"
    public let citation = "RFC 5280 §4.1.2.2"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        let bytes = Array(context.certificate.serialNumber.bytes.drop(while: { $0 == 0 }))
        let encodedLength = bytes.count + ((bytes.first ?? 0) & 0x80 != 0 ? 1 : 0)
        var problems: [String] = []
        if encodedLength > 20 { problems.append("serial number encodes to \(encodedLength) octets, more than 20") }
        if !bytes.contains(where: { $0 != 0 }) {
            problems.append("serial number is zero")
        } else if bytes.count < 8 {
            problems.append("serial number has fewer than 64 bits")
        }
        return problems
    }
}
