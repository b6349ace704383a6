import SwiftASN1
import X509

/// The cRLDistributionPoints extension (RFC 5280 §4.2.1.13), which swift-certificates does not
/// model. We only ever emit one point with a fullName URI:
///
/// ```
/// CRLDistributionPoints ::= SEQUENCE SIZE (1..MAX) OF DistributionPoint
/// DistributionPoint ::= SEQUENCE { distributionPoint [0] DistributionPointName OPTIONAL, ... }
/// DistributionPointName ::= CHOICE { fullName [0] GeneralNames, ... }
/// ```
public enum CRLDistributionPointsExtension {
    /// id-ce-cRLDistributionPoints.
    public static let oid: ASN1ObjectIdentifier = [2, 5, 29, 31]

    /// A non-critical extension pointing at `url`.
    public static func make(url: String) throws -> Certificate.Extension {
        var serializer = DER.Serializer()
        try serializer.appendConstructedNode(identifier: .sequence) { points in
            try points.appendConstructedNode(identifier: .sequence) { point in
                try point.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { name in
                    try name.appendConstructedNode(identifier: ASN1Identifier(tagWithNumber: 0, tagClass: .contextSpecific)) { fullName in
                        try fullName.serialize(GeneralName.uniformResourceIdentifier(url))
                    }
                }
            }
        }
        return Certificate.Extension(oid: oid, critical: false, value: serializer.serializedBytes[...])
    }

    /// The URIs of the fullName distribution points in `ext`.
    public static func urls(in ext: Certificate.Extension) throws -> [String] {
        let root = try DER.parse(ext.value)
        var urls: [String] = []
        try DER.sequence(root, identifier: .sequence) { points in
            while let point = points.next() {
                guard case .constructed(let pointChildren) = point.content else { continue }
                for child in pointChildren where child.identifier.tagNumber == 0 {
                    guard case .constructed(let nameChildren) = child.content else { continue }
                    for fullName in nameChildren where fullName.identifier.tagNumber == 0 {
                        guard case .constructed(let generalNames) = fullName.content else { continue }
                        for generalName in generalNames {
                            if case .uniformResourceIdentifier(let uri) = try GeneralName(derEncoded: generalName) { urls.append(uri) }
                        }
                    }
                }
            }
        }
        return urls
    }
}
