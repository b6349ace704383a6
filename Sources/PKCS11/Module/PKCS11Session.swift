import Dispatch
import Foundation
import PKICore

/// A logged-in read-write session on one token.
///
/// Owns the session handle and closes it in `deinit`. PKCS#11 sessions are not safe for concurrent
/// use (v2.40 §5.6), so every call goes through ``perform(_:)``, which serialises on a private
/// queue; ``performAsync(_:)`` runs the blocking C call on that dedicated queue, never on Swift's
/// cooperative thread pool (docs/conventions.md#hsm-keys).
public final class PKCS11Session: @unchecked Sendable {
    /// The token this session is on.
    public let token: PKCS11TokenInfo
    let module: PKCS11Module
    let handle: UInt
    private let queue: DispatchQueue
    private let lock = NSLock()

    init(module: PKCS11Module, token: PKCS11TokenInfo) throws {
        self.module = module
        self.token = token
        self.handle = try module.functions.openSession(slot: token.slot)
        self.queue = DispatchQueue(label: "rootkeeper.pkcs11.session.\(token.serial)")
    }

    deinit {
        try? module.functions.closeSession(handle)  // Nothing useful to do if closing fails.
    }

    var functions: any PKCS11Functions { module.functions }

    /// Runs `body` with exclusive use of the session.
    func perform<R>(_ body: () throws -> R) rethrows -> R {
        try lock.withLock(body)
    }

    /// Runs `body` with exclusive use of the session on the session's own dispatch queue.
    func performAsync<R: Sendable>(_ body: @escaping @Sendable () throws -> R) async throws -> R {
        try await withCheckedThrowingContinuation { continuation in
            queue.async { [self] in
                continuation.resume(with: Result { try self.perform(body) })
            }
        }
    }

    /// C_Login as the user. Called once; a failure (e.g. CKR_PIN_INCORRECT) is thrown as is and
    /// never retried, since every attempt counts against the token's PIN retry limit.
    func login(pin: SecretBytes) throws {
        try perform { try functions.login(session: handle, pin: pin) }
    }

    /// Logs out (the session stays open until released).
    public func logout() throws {
        try perform { try functions.logout(session: handle) }
    }
}
