import X509

extension Certificate.SerialNumber {
    /// The serial as administrators type it: lower-case hex of the DER INTEGER's content bytes,
    /// two digits per byte, no separators — the form `appliance certs show|revoke`, the store and
    /// ceremony plans use. (`description` drops leading zeros of each byte, e.g. `8:36`, which
    /// cannot be pasted back into a command.)
    public var hex: String { Hex.encode(bytes) }
}
