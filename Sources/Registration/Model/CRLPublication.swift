import Foundation

/// What was last published for one issuer's CRL (for `rootkeeper_crl_age_seconds` and friends).
public struct CRLPublication: Hashable, Sendable, Codable {
    public var issuerSKI: String
    /// The CRLNumber extension value (RFC 5280 §5.2.3).
    public var number: Int64
    public var thisUpdate: Date
    public var nextUpdate: Date
    public var entries: Int
    public var sizeBytes: Int

    public init(issuerSKI: String, number: Int64, thisUpdate: Date, nextUpdate: Date, entries: Int, sizeBytes: Int) {
        self.issuerSKI = issuerSKI
        self.number = number
        self.thisUpdate = thisUpdate
        self.nextUpdate = nextUpdate
        self.entries = entries
        self.sizeBytes = sizeBytes
    }
}

/// A CRL number handed out by ``CRLStateStore/allocateCRLNumber(issuerSKI:)``.
public struct CRLNumberAllocation: Hashable, Sendable {
    /// The number to put in the CRL; strictly greater than every number allocated before for this
    /// issuer, whatever the clock says (RFC 5280 §5.2.3: monotonically increasing).
    public var number: Int64
    /// The thisUpdate of the last *published* CRL, so the caller can refuse to go back in time
    /// when the clock has stepped back.
    public var lastThisUpdate: Date?

    public init(number: Int64, lastThisUpdate: Date?) {
        self.number = number
        self.lastThisUpdate = lastThisUpdate
    }
}
