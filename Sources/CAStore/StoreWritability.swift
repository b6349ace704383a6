/// A store that can tell it has nowhere to write (a shared database whose primary is gone and no
/// standby promoted yet): `/health` and `rootkeeper_store_writable` say so while OCSP and CRLs keep
/// serving what they hold and issuance answers 503 (docs/configuration.md#store).
public protocol StoreWritability: Sendable {
    /// Why no write can succeed now, or nil when the store believes it can write.
    var unwritableReason: String? { get }
}
