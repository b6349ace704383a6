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
/// human is waiting); each has a 5-second I/O timeout. The kernel-reported uid of the caller is
/// passed to the ``AdministrationService`` for the audit log.
public final class AdminSocketServer: Service, Sendable {
    public let path: String
    private let dispatcher: AdminDispatcher
    private let logger: Logger
    private let stopped = NIOLockedValueBox(false)
    static let maxMessageBytes = 64 * 1024

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
        // umask only ever removes permission bits, so narrowing it briefly cannot loosen any other
        // file created meanwhile; it makes the socket 0600 from the moment it exists.
        let previous = umask(0o177)
        let result = UnixSocket.withSockaddr(&address) { Glibc.bind(fd, $0, $1) }
        umask(previous)
        guard result == 0 else {
            close(fd)
            throw UnixSocket.failure("bind", path)
        }
        chmod(path, 0o600)
        guard listen(fd, 16) == 0 else {
            close(fd)
            throw UnixSocket.failure("listen", path)
        }
        return fd
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
                    finished.withLockedValue { $0?.resume(); $0 = nil }
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
            let line = try UnixSocket.readLine(connection, limit: Self.maxMessageBytes)
            let request = try JSONDecoder().decode(AdminRequest.self, from: Data(line))
            response = Self.wait { await self.dispatcher.handle(request, caller: caller) }
        } catch {
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
