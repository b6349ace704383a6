import PKICore

/// A loaded, initialised PKCS#11 module (e.g. `/usr/lib/softhsm/libsofthsm2.so`).
///
/// Loading `dlopen`s the library and calls `C_GetFunctionList` and `C_Initialize` with
/// CKF_OS_LOCKING_OK; the module is finalised and closed when the last reference goes away.
/// A module may only be initialised once per process, so keep one instance per path.
public final class PKCS11Module: Sendable {
    let functions: any PKCS11Functions
    /// The path the module was loaded from.
    public let path: String

    /// Loads the module at `path`.
    ///
    /// PKCS#11 allows one `C_Initialize` per process (a second returns
    /// CKR_CRYPTOKI_ALREADY_INITIALIZED), so instances loaded from the same path share one
    /// initialised library while any of them is alive.
    public init(path: String) throws {
        self.functions = try Self.loaded.acquire(path)
        self.path = path
        self.shared = true
    }

    private static let loaded = LoadedModules()
    /// Whether ``functions`` came from the process-wide table (false for injected fakes).
    private let shared: Bool

    init(functions: any PKCS11Functions, path: String) {
        self.functions = functions
        self.path = path
        self.shared = false
    }

    deinit {
        if shared { Self.loaded.release(path) }
    }

    /// All tokens present in the module's slots, with their capabilities.
    public func tokens() throws -> [PKCS11TokenInfo] {
        try functions.slotList(tokenPresent: true).map { try PKCS11TokenInfo.read(slot: $0, from: functions) }
    }

    /// The one token that `selector` names (see ``TokenSelector/select(from:)``).
    public func token(_ selector: TokenSelector) throws -> PKCS11TokenInfo {
        try selector.select(from: tokens())
    }

    /// Opens a read-write session on the token `selector` names and logs in as the user.
    ///
    /// The PIN is handed to `C_Login` once; a wrong PIN throws (`CKR_PIN_INCORRECT`) and is never
    /// retried here, because each retry burns one of the token's limited PIN attempts.
    public func openSession(_ selector: TokenSelector, pin: SecretBytes) throws -> PKCS11Session {
        let token = try token(selector)
        let session = try PKCS11Session(module: self, token: token)
        try session.login(pin: pin)
        return session
    }
}
