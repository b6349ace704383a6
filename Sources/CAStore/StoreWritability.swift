/// A store that can tell it has nowhere to write (a shared database whose primary is gone and no
/// standby promoted yet): `/health` and `rootkeeper_store_writable` say so while OCSP and CRLs keep
/// serving what they hold and issuance answers 503 (docs/configuration.md#store).
public protocol StoreWritability: Sendable {
    /// Why no write can succeed now, or nil when the store believes it can write.
    var unwritableReason: String? { get }
}

/// One local file: a write fails with its own error (disk full, read-only file); there is no
/// "no primary" state to report ahead of it.
extension SQLiteStore: StoreWritability {
    public nonisolated var unwritableReason: String? { nil }
}
