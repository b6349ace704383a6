import SwiftASN1
import X509

/// RFC 5280 Appendix A.1 upper bounds (from X.520) on the subject's attribute values, so nothing
/// over-long is ever signed at either tier — relying parties (and pkilint) reject such a
/// certificate as malformed, and a CN cut short would no longer name what was checked.
///
/// ```
/// ub-common-name INTEGER ::= 64               ub-organization-name INTEGER ::= 64
/// ub-organizational-unit-name INTEGER ::= 64  ub-locality-name INTEGER ::= 128
/// ub-state-name INTEGER ::= 128               ub-serial-number INTEGER ::= 64
/// ub-title INTEGER ::= 64                     ub-pseudonym INTEGER ::= 128
/// ub-emailaddress-length INTEGER ::= 255
/// X520countryName ::= PrintableString (SIZE (2))   -- ISO 3166 alpha-2
/// X520SerialNumber ::= PrintableString (SIZE (1..ub-serial-number))
/// ```
/// Sizes count characters (for UTF8String, Unicode scalars; BMPString two octets each). Every
/// value must also be non-empty (`SIZE (1..ub-…)`).
public struct SubjectAttributeBoundsRule: LintRule {
    public let name = "e_subject_attribute_upper_bounds"
    public let citation = "RFC 5280 Appendix A.1 (X.520 upper bounds)"
    public init() {}

    /// The upper bound (in characters) of each bounded attribute type, with its ASN.1 name.
    static let bounds: [ASN1ObjectIdentifier: (name: String, upperBound: Int)] = [
        .RDNAttributeType.commonName: ("commonName", 64),
        .RDNAttributeType.organizationName: ("organizationName", 64),
        .RDNAttributeType.organizationalUnitName: ("organizationalUnitName", 64),
        .RDNAttributeType.localityName: ("localityName", 128),
        .RDNAttributeType.stateOrProvinceName: ("stateOrProvinceName", 128),
        [2, 5, 4, 5]: ("serialNumber", 64),
        [2, 5, 4, 12]: ("title", 64),
        [2, 5, 4, 65]: ("pseudonym", 128),
        .RDNAttributeType.emailAddress: ("emailAddress", 255),
        .RDNAttributeType.countryName: ("countryName", 2),
    ]

    /// Attribute types whose syntax is PrintableString only.
    static let printableOnly: Set<ASN1ObjectIdentifier> = [.RDNAttributeType.countryName, [2, 5, 4, 5]]

    public func check(_ context: LintContext) -> [String] {
        var problems: [String] = []
        for rdn in context.certificate.subject {
            for attribute in rdn {
                guard let bound = Self.bounds[attribute.type] else { continue }
                guard let (tag, length) = Self.measure(attribute.value) else {
                    problems.append("\(bound.name) is not a string value")
                    continue
                }
                if Self.printableOnly.contains(attribute.type), tag != ASN1PrintableString.defaultIdentifier {
                    problems.append("\(bound.name) must be a PrintableString")
                }
                if attribute.type == .RDNAttributeType.countryName {
                    if length != 2 { problems.append("countryName must be exactly 2 characters (ISO 3166 alpha-2), got \(length)") }
                } else if length < 1 {
                    problems.append("\(bound.name) is empty")
                } else if length > bound.upperBound {
                    problems.append("\(bound.name) has \(length) characters; the upper bound is \(bound.upperBound)")
                }
            }
        }
        return problems
    }

    /// The value's string tag and its length in characters; `nil` when it is not a string.
    static func measure(_ value: RelativeDistinguishedName.Attribute.Value) -> (ASN1Identifier, Int)? {
        var serializer = DER.Serializer()
        guard (try? serializer.serialize(ASN1Any(value))) != nil,
            let node = try? DER.parse(serializer.serializedBytes),
            case .primitive(let content) = node.content
        else { return nil }
        switch node.identifier {
        case ASN1UTF8String.defaultIdentifier:
            return (node.identifier, String(decoding: content, as: UTF8.self).unicodeScalars.count)
        case ASN1BMPString.defaultIdentifier:
            return (node.identifier, content.count / 2)
        case ASN1UniversalString.defaultIdentifier:
            return (node.identifier, content.count / 4)
        case ASN1PrintableString.defaultIdentifier, ASN1IA5String.defaultIdentifier, ASN1TeletexString.defaultIdentifier:
            return (node.identifier, content.count)
        default:
            return nil
        }
    }
}
