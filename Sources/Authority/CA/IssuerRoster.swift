import Foundation
import NIOConcurrencyHelpers
import PKICore
import X509

/// The intermediates this appliance answers for (docs/lifecycle.md#intermediate-renewal, renewal with overlap): the current
/// one, which issues, and the retiring ones, installed before it, whose certificates are still
/// in use. Retiring issuers are in `cacerts` and the chain, are accepted for mTLS, and have their
/// own CRL and OCSP answers, until ``IssuerRetirement`` retires them. Shared by the CA, the
/// client trust, CRL publishers and the OCSP responder so a retirement takes effect everywhere.
public final class IssuerRoster: Sendable {
    /// The issuing intermediate.
    public let current: Certificate
    private let retiringBox: NIOLockedValueBox<[Certificate]>

    public init(current: Certificate, retiring: [Certificate] = []) {
        self.current = current
        self.retiringBox = NIOLockedValueBox(retiring.filter { $0 != current })
    }

    /// Retiring intermediates, oldest install last.
    public var retiring: [Certificate] { retiringBox.withLockedValue { $0 } }

    /// Current, then retiring.
    public var all: [Certificate] { [current] + retiring }

    /// Removes the retiring issuer with SKI `ski` (lower-case hex); returns it when it was there.
    @discardableResult
    public func remove(ski: String) -> Certificate? {
        retiringBox.withLockedValue { list in
            guard let index = list.firstIndex(where: { (try? Self.ski($0)) == ski }) else { return nil }
            return list.remove(at: index)
        }
    }

    /// Whether `ski` names the current or a retiring issuer.
    public func contains(ski: String) -> Bool {
        all.contains { (try? Self.ski($0)) == ski }
    }

    /// The issuer ID used in paths, URLs, metrics and the store: lower-case hex of the SKI
    /// (RFC 5280 §4.2.1.2). A CA certificate without one is refused.
    public static func ski(_ certificate: Certificate) throws -> String {
        guard let ski = try certificate.extensions.subjectKeyIdentifier else {
            throw ApplianceError.stateDirectory("intermediate \(certificate.subject) has no subject key identifier")
        }
        return PKICore.Hex.encode(ski.keyIdentifier)
    }
}
