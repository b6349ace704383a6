import HummingbirdCore
import Logging
import NIOCore
import NIOSSL
import NIOTLS
import PKICore
import X509

/// A Hummingbird child channel that wraps HTTP/1 in TLS using the holder's *current* context for
/// each new connection (HummingbirdTLS's `TLSChannel` fixes its context at start-up, which would
/// make certificate rotation need a restart).
struct RotatingTLSChannel<BaseChannel: ServerChildChannel>: ServerChildChannel {
    typealias Value = BaseChannel.Value

    let base: BaseChannel
    let holder: ServerCertificateHolder
    let verifier: HandshakeVerifier

    func setup(channel: any Channel, logger: Logger) -> EventLoopFuture<Value> {
        let context = holder.current
        let verifier = self.verifier
        return channel.eventLoop.makeCompletedFuture {
            try channel.pipeline.syncOperations.addHandlers(
                NIOSSLServerHandler(
                    context: context,
                    customVerificationCallback: { certificates, promise in
                        verifier.verify(certificates, promise: promise, channel: channel)
                    }),
                ResumedSessionRegistrar(verifier: verifier)
            )
        }.flatMap {
            self.base.setup(channel: channel, logger: logger)
        }
    }

    func handle(value: BaseChannel.Value, logger: Logger) async {
        await base.handle(value: value, logger: logger)
    }
}

extension RotatingTLSChannel: HTTPChannelHandler where BaseChannel: HTTPChannelHandler {
    var responder: HTTPChannelHandler.Responder { base.responder }
}

/// Handshake-time client certificate check: chain to the pinned root through a current
/// intermediate, then revocation from the store. Any error refuses the handshake (fail closed).
/// Requests re-check everything through ``ClientAuthenticator``; this only keeps obviously bad
/// clients from completing a handshake.
struct HandshakeVerifier: Sendable {
    let trust: ClientTrust
    let revocation: any RevocationChecking
    let connections: ConnectionRegistry
    let metrics: ApplianceMetrics
    let logger: Logger
    /// Leaves that passed this check before, parsed (only the parse is saved: every check runs).
    let leaves = ParsedLeafCache()

    func verify(_ presented: [NIOSSLCertificate], promise: EventLoopPromise<NIOSSLVerificationResult>, channel: any Channel) {
        // Only the leaf is parsed: ``ClientTrust`` builds the path from our own intermediates and
        // never from what the client sent (one certificate parse less per full handshake).
        guard let first = presented.first else {
            promise.succeed(.certificateVerified)
            return
        }
        let parsed: ParsedLeafCache.Parsed
        do {
            parsed = try leaves.certificate(der: try first.toDERBytes())
        } catch {
            logger.notice("TLS client certificate refused: not parseable", metadata: ["error": "\(error)"])
            metrics.validationFailure(reason: "malformed_certificate")
            promise.succeed(.failed)
            return
        }
        let leaf = parsed.certificate
        let serial = Self.serial(of: leaf)
        // Cache-hit path, synchronously on the event loop: the chain validated before and is
        // re-checked for the current time and anchors, and the store said "good" less than
        // ``ClientStatusCache/maximumAge`` ago with no revocation since. Anything else — a new
        // leaf, an expired or no longer anchored chain, an unknown status — takes the full check.
        if case .some(.none) = trust.cachedVerdict(leaf: leaf), revocation.isKnownGood(leaf) {
            let started = ContinuousClock.now
            connections.register(serial: serial, channel: channel, certificate: leaf)
            leaves.remember(parsed)
            metrics.observeValidation(since: started)
            promise.succeed(.certificateVerified)
            return
        }
        Task {
            if await check(leaf) {
                connections.register(serial: serial, channel: channel, certificate: leaf)
                leaves.remember(parsed)
                promise.succeed(.certificateVerified)
            } else {
                promise.succeed(.failed)
            }
        }
    }

    /// The handshake completed. A TLS 1.3 resumed session (RFC 8446 §2.2) skips certificate
    /// verification, so ``verify(_:promise:channel:)`` never ran for it and the connection is not
    /// registered: register it now under the serial of the certificate the session was
    /// established with (BoringSSL keeps the peer certificate in the session), so a revocation
    /// closes it like any other, then run the same chain and revocation check as a full handshake
    /// and close it if the certificate was revoked (or cannot be checked) since the session began.
    /// Registering before checking leaves no window: a revocation during the check closes it too.
    func handshakeCompleted(channel: any Channel, peer: NIOSSLCertificate?) {
        guard let peer, !connections.isRegistered(channel) else { return }
        let parsed: ParsedLeafCache.Parsed
        do { parsed = try leaves.certificate(der: try peer.toDERBytes()) } catch {
            logger.notice("TLS client certificate of a resumed session refused: not parseable", metadata: ["error": "\(error)"])
            metrics.validationFailure(reason: "malformed_certificate")
            channel.close(promise: nil)
            return
        }
        let leaf = parsed.certificate
        connections.register(serial: Self.serial(of: leaf), channel: channel, certificate: leaf)
        Task {
            if await check(leaf) {
                leaves.remember(parsed)
            } else {
                channel.close(promise: nil)
            }
        }
    }

    /// Chain to the pinned root through a current intermediate, then revocation from the store;
    /// false (logged and counted) when the certificate must not be used or cannot be checked.
    func check(_ leaf: Certificate) async -> Bool {
        let started = ContinuousClock.now
        defer { metrics.observeValidation(since: started) }
        if let failure = await trust.verify(leaf: leaf) {
            logger.notice("TLS client certificate refused", metadata: ["reason": "\(failure)"])
            metrics.validationFailure(reason: "untrusted_chain")
            return false
        }
        do {
            switch try await revocation.revocationStatus(of: leaf) {
            case .good:
                return true
            case .revoked(let reason):
                logger.notice(
                    "TLS client certificate refused: revoked or unknown",
                    metadata: ["serial": "\(leaf.serialNumber)", "reason": "revoked (\(reason))"])
                metrics.validationFailure(reason: "revoked")
                return false
            case .unknown:
                // Chains to our root but is not the certificate the store recorded for its serial
                // (forged with the intermediate key, re-signed, or never issued): counted apart from
                // revocations, under the same reason the request-time check uses.
                logger.notice(
                    "TLS client certificate refused: revoked or unknown",
                    metadata: ["serial": "\(leaf.serialNumber)", "reason": "not known to this CA"])
                metrics.validationFailure(reason: "unknown_certificate")
                return false
            }
        } catch {
            logger.error("revocation check failed; refusing handshake", metadata: ["error": "\(error)"])
            metrics.validationFailure(reason: "revocation_unavailable")
            return false
        }
    }

    /// The store's hex form of a serial (the key of ``ConnectionRegistry``).
    static func serial(of leaf: Certificate) -> String { PKICore.Hex.encode(Array(leaf.serialNumber.bytes)) }
}

/// Tells the ``HandshakeVerifier`` when the TLS handshake completes (a resumed session included),
/// then leaves the pipeline.
final class ResumedSessionRegistrar: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = NIOAny
    let verifier: HandshakeVerifier

    init(verifier: HandshakeVerifier) { self.verifier = verifier }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let tls = event as? TLSUserEvent, case .handshakeCompleted = tls {
            // A full handshake registered the connection in verify(): nothing to read or check.
            guard !verifier.connections.isRegistered(context.channel) else {
                context.fireUserInboundEventTriggered(event)
                context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
                return
            }
            // No peer certificate means nothing to register (requests then answer 401). Not
            // being able to ask (no TLS handler) closes the connection: it could not be cut on
            // revocation (fail closed).
            let peer: NIOSSLCertificate?
            do { peer = try context.pipeline.syncOperations.nioSSL_peerCertificate() } catch {
                verifier.logger.error("TLS peer certificate unreadable after the handshake; closing", metadata: ["error": "\(error)"])
                context.close(promise: nil)
                return
            }
            verifier.handshakeCompleted(channel: context.channel, peer: peer)
            context.fireUserInboundEventTriggered(event)
            context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    /// A client certificate BoringSSL refuses itself, before ``HandshakeVerifier/verify(_:promise:channel:)``
    /// runs, is logged and counted like the verifier's own refusals: a CA certificate without
    /// digitalSignature used as a client key (`KEY_USAGE_BIT_INCORRECT` → `wrong_usage`), and a
    /// handshake message over BoringSSL's size limit, such as a 1 MB client certificate
    /// (`EXCESSIVE_MESSAGE_SIZE` → `oversized_message`; RFC 8446 §4.4.2 leaves the limit to the peer).
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if case NIOSSLError.handshakeFailed(let underlying) = error {
            let text = "\(underlying)"
            if text.contains("KEY_USAGE_BIT_INCORRECT") {
                verifier.logger.notice(
                    "TLS client certificate refused", metadata: ["reason": "key usage does not allow signing the handshake (\(text))"])
                verifier.metrics.validationFailure(reason: "wrong_usage")
            } else if text.contains("EXCESSIVE_MESSAGE_SIZE") {
                verifier.logger.notice(
                    "TLS client certificate refused", metadata: ["reason": "a handshake message exceeds the size limit (\(text))"])
                verifier.metrics.validationFailure(reason: "oversized_message")
            }
        }
        context.fireErrorCaught(error)
    }
}
