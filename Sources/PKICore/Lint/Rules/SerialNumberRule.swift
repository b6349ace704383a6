import X509

/// RFC 5280 §4.1.2.2: the serial number MUST be a positive integer of no more than 20 octets
/// (zero is not positive), and DESIGN §2 asks for at least 64 bits of CSPRNG output, so a serial
/// shorter than 8 octets cannot be one of ours.
public struct SerialNumberRule: LintRule {
    public let name = "e_serial_number_form"
    public let citation = "RFC 5280 §4.1.2.2"
    public init() {}

    public func check(_ context: LintContext) -> [String] {
        let bytes = Array(context.certificate.serialNumber.bytes)
        var problems: [String] = []
        if bytes.count > 20 { problems.append("serial number is \(bytes.count) octets, more than 20") }
        if let first = bytes.first, first & 0x80 != 0 { problems.append("serial number is negative") }
        if !bytes.contains(where: { $0 != 0 }) {
            problems.append("serial number is zero")
        } else if bytes.drop(while: { $0 == 0 }).count < 8 {
            problems.append("serial number has fewer than 64 bits")
        }
        return problems
    }
}
