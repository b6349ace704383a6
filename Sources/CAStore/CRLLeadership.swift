/// Who publishes an issuer's CRL when several nodes share one store (docs/architecture.md#crl-leadership).
///
/// One node at a time holds an issuer's publisher lock (PostgreSQL: a session advisory lock on a
/// connection of its own, released by the server the moment that node's process or connection
/// dies); it signs the CRLs and stores each one's bytes in the shared store; the other nodes serve
/// those bytes. CRL numbers come from the store's atomic allocation, so they increase strictly
/// across nodes even if two nodes briefly both believe they lead.
public protocol CRLLeadership: Sendable {
    /// Takes, or keeps, `issuerSKI`'s publisher lock: true while this node holds it. Throws when
    /// the store cannot be asked (this node then does not lead).
    func holdsCRLLeadership(issuerSKI: String) async throws -> Bool
    /// Stores the DER of CRL `number` for the other nodes; a lower or equal number never replaces
    /// a higher one.
    func storeSharedCRL(issuerSKI: String, number: Int64, der: [UInt8]) async throws
    /// The newest CRL a leader stored, when its number is above `number` (nil: nothing newer).
    func sharedCRL(issuerSKI: String, newerThan number: Int64) async throws -> SharedCRL?
}

/// A CRL as the leading node stored it.
public struct SharedCRL: Sendable, Equatable {
    public let number: Int64
    public let der: [UInt8]

    public init(number: Int64, der: [UInt8]) {
        self.number = number
        self.der = der
    }
}

/// One writer, one node: this process always publishes, nothing is shared.
extension SQLiteStore: CRLLeadership {
    public nonisolated func holdsCRLLeadership(issuerSKI: String) async throws -> Bool { true }
    public nonisolated func storeSharedCRL(issuerSKI: String, number: Int64, der: [UInt8]) async throws {}
    public nonisolated func sharedCRL(issuerSKI: String, newerThan number: Int64) async throws -> SharedCRL? { nil }
}
