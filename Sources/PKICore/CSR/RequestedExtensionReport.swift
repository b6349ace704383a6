import SwiftASN1
import X509

/// Describes the extensions a CSR requests (PKCS#9 extensionRequest, RFC 2985 §5.4.2) for
/// previews. Nothing here is ever copied into a certificate.
enum RequestedExtensionReport {
    static func extensions(of csr: CertificateSigningRequest) throws -> [RequestedExtension] {
        guard let request = try csr.attributes.extensionRequest else { return [] }
        return request.extensions.map { ext in
            RequestedExtension(oid: "\(ext.oid)", summary: summary(ext), overriddenByProfile: true)
        }
    }

    /// True when the CSR asks for basicConstraints with cA TRUE (or the extension is unreadable,
    /// which we treat the same way: fail closed).
    static func requestsCA(_ csr: CertificateSigningRequest) -> Bool {
        guard let request = try? csr.attributes.extensionRequest else { return false }
        guard let ext = request.extensions[oid: .X509ExtensionID.basicConstraints] else { return false }
        guard let constraints = try? BasicConstraints(ext) else { return true }
        return constraints != .notCertificateAuthority
    }

    static func summary(_ ext: Certificate.Extension) -> String {
        let critical = ext.critical ? " (critical)" : ""
        switch ext.oid {
        case .X509ExtensionID.basicConstraints:
            switch try? BasicConstraints(ext) {
            case .isCertificateAuthority(let pathLength)?:
                return "basicConstraints CA:TRUE" + (pathLength.map { " pathLen:\($0)" } ?? "") + critical
            case .notCertificateAuthority?: return "basicConstraints CA:FALSE" + critical
            case nil: return "basicConstraints (undecodable)" + critical
            }
        case .X509ExtensionID.keyUsage:
            return "keyUsage \((try? KeyUsage(ext)).map { "\($0)" } ?? "(undecodable)")" + critical
        case .X509ExtensionID.extendedKeyUsage:
            return "extendedKeyUsage \((try? ExtendedKeyUsage(ext)).map { "\($0)" } ?? "(undecodable)")" + critical
        case .X509ExtensionID.subjectAlternativeName:
            return "subjectAltName \((try? SubjectAlternativeNames(ext)).map { "\($0)" } ?? "(undecodable)")" + critical
        default:
            return "extension \(ext.oid)" + critical
        }
    }
}
