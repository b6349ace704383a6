import Foundation
import Logging
import NIOConcurrencyHelpers
import ServiceLifecycle

#if canImport(Glibc)
    import Glibc
#elseif canImport(Musl)
    import Musl
#elseif canImport(Darwin)
    import Darwin
#endif

/// Serves `DIR/admin.sock` (mode 0600, owner only) as a ServiceLifecycle `Service`.
///
/// Connections are handled one at a time on a dedicated thread (admin traffic is rare and a
/// human is waiting); each has a 5-second I/O timeout and 5 seconds to send its whole request. The kernel-reported uid of the caller is
/// passed to the ``AdministrationService`` for the audit log.
public final class AdminSocketServer: Service, Sendable {
    public let path: String
    private let dispatcher: AdminDispatcher
    private let logger: Logger
    private let stopped = NIOLockedValueBox(false)
    static let maxMessageBytes = 64 * 1024
    /// The whole request line must arrive within this (the CLI sends it at once).
    static let requestSeconds = 5

    public init(path: String, service: any AdministrationService, logger: Logger) {
        self.path = path
        self.dispatcher = AdminDispatcher(service: service, logger: logger)
        self.logger = logger
    }

    /// Binds the socket (replacing a stale one) with mode 0600 and returns the listening fd.
    func bind() throws -> Int32 {
        let fd = UnixSocket.streamSocket()
        guard fd >= 0 else { throw UnixSocket.failure("socket", path) }
        unlink(path)
        var address = try UnixSocket.address(path)
        // The process umask is not touched: it is shared by every thread, and narrowing it even
        // briefly made files that other threads (and the children they spawned) created meanwhile
        // unreadable to the users meant to read them. The socket is restricted right after bind
        // instead; until `listen` below nobody can connect to it (connect(2) is refused on a bound
        // but not listening socket), and its directory is the 0700 state directory.
        let result = UnixSocket.withSockaddr(&address) { Glibc.bind(fd, $0, $1) }
        guard result == 0 else {
            close(fd)
            throw UnixSocket.failure("bind", path)
        }
        guard chmod(path, 0o600) == 0 else {
            close(fd)
            unlink(path)
            throw UnixSocket.failure("chmod 0600", path)
        }
        do {
            try Self.verifyOwnership(path)
        } catch {
            close(fd)
            unlink(path)
            throw error
        }
        guard listen(fd, 16) == 0 else {
            close(fd)
            throw UnixSocket.failure("listen", path)
        }
        return fd
    }

    /// Fails closed unless the socket is exactly 0600 and owned by this process's user (the
    /// service user after the privilege drop) — a socket others could open would hand them the CA.
    static func verifyOwnership(_ path: String) throws {
        var info = stat()
        guard lstat(path, &info) == 0 else { throw UnixSocket.failure("stat", path) }
        guard (info.st_mode & S_IFMT) == S_IFSOCK else {
            throw ApplianceError.unavailable("\(path) is not a socket")
        }
        guard info.st_mode & 0o777 == 0o600, info.st_uid == geteuid() else {
            throw ApplianceError.unavailable(
                "\(path) must be mode 0600 and owned by uid \(geteuid()); it is mode \(String(info.st_mode & 0o777, radix: 8)) owned by uid \(info.st_uid)"
            )
        }
    }

    /// Only the service user itself (or root, which file modes do not stop anyway) may
    /// administer; checked on the kernel-reported peer uid, so a socket whose mode was loosened
    /// by mistake still refuses everyone else.
    static func mayAdminister(_ caller: AdminCaller) -> Bool {
        caller.uid == geteuid() || caller.uid == 0
    }

    public func run() async throws {
        let fd = try bind()
        logger.info("admin socket listening", metadata: ["path": "\(path)"])
        let finished = NIOLockedValueBox<CheckedContinuation<Void, Never>?>(nil)
        await withTaskCancellationOrGracefulShutdownHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                finished.withLockedValue { $0 = continuation }
                let thread = Thread { [self] in
                    self.acceptLoop(fd)
                    close(fd)
                    unlink(self.path)
                    finished.withLockedValue {
                        $0?.resume()
                        $0 = nil
                    }
                }
                thread.start()
            }
        } onCancelOrGracefulShutdown: {
            self.stopped.withLockedValue { $0 = true }
        }
    }

    private func acceptLoop(_ listener: Int32) {
        while !stopped.withLockedValue({ $0 }) {
            var poller = pollfd(fd: listener, events: Int16(POLLIN), revents: 0)
            let ready = poll(&poller, 1, 200)
            guard ready > 0 else { continue }
            let connection = accept(listener, nil, nil)
            guard connection >= 0 else { continue }
            handle(connection)
            close(connection)
        }
    }

    private func handle(_ connection: Int32) {
        UnixSocket.setTimeouts(connection, seconds: 5)
        guard let caller = UnixSocket.peerCredentials(connection) else {
            logger.warning("admin connection refused: peer credentials unavailable")
            return
        }
        let response: AdminResponse
        do {
            // The request is read (bounded) before the caller check so that closing the socket
            // does not discard the refusal with a reset.
            let line = try UnixSocket.readLine(connection, limit: Self.maxMessageBytes, within: Self.requestSeconds)
            guard Self.mayAdminister(caller) else {
                logger.warning(
                    "admin connection refused: caller is not the service user", metadata: ["uid": "\(caller.uid)", "pid": "\(caller.pid)"])
                throw ApplianceError.forbidden("uid \(caller.uid) may not administer this appliance")
            }
            let request = try JSONDecoder().decode(AdminRequest.self, from: Data(line))
            response = Self.wait { await self.dispatcher.handle(request, caller: caller) }
        } catch let error as ApplianceError where error.code == .forbidden {
            response = AdminResponse(ok: false, error: "admin socket: \(error.reason)")
        } catch {
            // Logged too: a client that keeps sending what the CLI never sends (or sends it too
            // slowly) should be visible to the operator, not only to itself.
            logger.notice("bad admin request", metadata: ["uid": "\(caller.uid)", "pid": "\(caller.pid)", "error": "\(error)"])
            response = AdminResponse(ok: false, error: "bad admin request: \(error)")
        }
        if var bytes = try? JSONEncoder().encode(response) {
            bytes.append(UInt8(ascii: "\n"))
            do { try UnixSocket.writeAll(connection, [UInt8](bytes)) } catch {
                logger.warning("admin response could not be written", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Runs async work from the admin thread and waits for it (that thread is not part of the
    /// cooperative pool, so blocking it is fine).
    private static func wait(_ work: @escaping @Sendable () async -> AdminResponse) -> AdminResponse {
        let semaphore = DispatchSemaphore(value: 0)
        let result = NIOLockedValueBox(AdminResponse(ok: false, error: "no response"))
        Task {
            let value = await work()
            result.withLockedValue { $0 = value }
            semaphore.signal()
        }
        semaphore.wait()
        return result.withLockedValue { $0 }
    }
}
