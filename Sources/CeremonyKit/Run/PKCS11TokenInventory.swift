import PKCS11

/// ``TokenInventory`` over the real PKCS#11 layer, for `devices` and `preflight`.
public struct PKCS11TokenInventory: TokenInventory {
    public init() {}

    public func describeTokens(module: String) throws -> [String] {
        try PKCS11Module(path: module).tokens().map(Self.describe)
    }

    public func findToken(module: String, selector: String) throws -> String? {
        let tokens = try PKCS11Module(path: module).tokens()
        let selector = try TokenSelector(parsing: selector)
        return tokens.first(where: selector.matches).map(Self.describe)
    }

    static func describe(_ token: PKCS11TokenInfo) -> String {
        let capabilities = [
            token.supportsRSA4096Generation ? "RSA-4096" : nil, token.supportsP384Generation ? "P-384" : nil,
        ].compactMap { $0 }
        var flags: [String] = []
        if token.userPINLocked { flags.append("PIN LOCKED") }
        if token.userPINFinalTry { flags.append("PIN final try") } else if token.userPINCountLow { flags.append("PIN count low") }
        if !token.tokenInitialized { flags.append("not initialised") }
        return "label \"\(token.label)\", serial \(token.serial), model \(token.model), manufacturer \(token.manufacturer), "
            + "slot \(token.slot), key generation: \(capabilities.isEmpty ? "none of RSA-4096/P-384" : capabilities.joined(separator: ", "))"
            + (flags.isEmpty ? "" : " [\(flags.joined(separator: ", "))]") + "; \(token.uri)"
    }
}
