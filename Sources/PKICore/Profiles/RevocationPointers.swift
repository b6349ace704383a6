/// Where relying parties find revocation information and the issuer certificate (RFC 5280
/// §4.2.1.13 CRL distribution points, §4.2.2.1 authority information access). Only HTTP(S)
/// URLs are accepted: LDAP and file URLs are not something our relying parties fetch.
public struct RevocationPointers: Sendable, Hashable {
    public let crlURL: String?
    public let ocspURL: String?
    public let caIssuersURL: String?

    public init(crlURL: String? = nil, ocspURL: String? = nil, caIssuersURL: String? = nil) throws {
        for url in [crlURL, ocspURL, caIssuersURL].compactMap({ $0 }) {
            guard url.hasPrefix("http://") || url.hasPrefix("https://"), url.utf8.allSatisfy({ $0 > 0x20 && $0 < 0x7f }) else {
                throw PKIError.invalidParameter("'\(url)' is not an http(s) URL")
            }
        }
        self.crlURL = crlURL
        self.ocspURL = ocspURL
        self.caIssuersURL = caIssuersURL
    }

    /// No pointers.
    public static let none = RevocationPointers(unchecked: ())

    private init(unchecked: Void) {
        crlURL = nil
        ocspURL = nil
        caIssuersURL = nil
    }
}
