import Foundation

/// One file of the state directory that `serve` loads, named relative to the state root, with
/// what it is. ``StateDirectory/servedFiles()`` lists them from ``StateDirectory/fileLayout`` —
/// the same definition the accessors the runtime loads through (`issuerCertificate(_:)`,
/// `issuerKey(_:)` …) are built from — so a backup cannot leave out something `serve` needs.
public struct StateFile: Sendable, Hashable {
    /// What a file is: decides its mode on restore and how a backup treats it.
    public enum Kind: Sendable, Hashable {
        /// Certificates and chains (public, 0644).
        case certificate
        /// An intermediate's private key (0600 in a 0700 directory; only encrypted PKCS#8 is backed up).
        case privateKey
        /// A CRL or a superseded CRL kept as history (public, 0644).
        case crl
    }

    /// Path relative to the state root, `/`-separated.
    public let relativePath: String
    public let kind: Kind
}

/// A family of state files: path components where ``Component/issuerID`` stands for an issuer
/// directory (lower-case hex SKI) and ``Component/anyFile`` for any regular file of the directory.
struct StateFilePattern: Sendable {
    enum Component: Sendable, Equatable {
        case literal(String)
        /// A directory named by an issuer's lower-case hex SKI (RFC 5280 §4.2.1.2).
        case issuerID
        /// Any regular file (temporary `*.tmp-*` files of an atomic replacement excluded).
        case anyFile
    }

    let components: [Component]
    let kind: StateFile.Kind

    init(_ components: Component..., kind: StateFile.Kind) {
        self.components = components
        self.kind = kind
    }

    /// Whether `relative` (split into components) is a file of this family.
    func matches(_ path: [String]) -> Bool {
        guard path.count == components.count else { return false }
        return zip(components, path).allSatisfy { component, name in
            switch component {
            case .literal(let literal): name == literal
            case .issuerID: Self.isIssuerID(name)
            case .anyFile: Self.isFileName(name)
            }
        }
    }

    static func isIssuerID(_ name: String) -> Bool {
        !name.isEmpty && name.count <= 128 && name.allSatisfy { $0.isHexDigit && !$0.isUppercase }
    }

    static let fileNameCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-")

    static func isFileName(_ name: String) -> Bool {
        !name.isEmpty && name != "." && name != ".." && name.count <= 128 && !name.contains(".tmp-")
            && name.allSatisfy(fileNameCharacters.contains)
    }
}
