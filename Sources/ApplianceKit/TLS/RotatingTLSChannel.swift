import PKICore
import HummingbirdCore
import Logging
import NIOCore
import NIOSSL

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
            try channel.pipeline.syncOperations.addHandler(
                NIOSSLServerHandler(context: context, customVerificationCallback: { certificates, promise in
                    verifier.verify(certificates, promise: promise, channel: channel)
                })
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

    func verify(_ presented: [NIOSSLCertificate], promise: EventLoopPromise<NIOSSLVerificationResult>, channel: any Channel) {
        let certificates: [Certificate]
        do {
            certificates = try presented.map { try Certificate(derEncoded: try $0.toDERBytes()) }
        } catch {
            logger.notice("TLS client certificate refused: not parseable", metadata: ["error": "\(error)"])
            metrics.validationFailure(reason: "malformed_certificate")
            promise.succeed(.failed)
            return
        }
        guard let leaf = certificates.first else {
            promise.succeed(.certificateVerified)
            return
        }
        let trust = self.trust, revocation = self.revocation, metrics = self.metrics, logger = self.logger
        let connections = self.connections
        Task {
            let started = ContinuousClock.now
            defer { metrics.observeValidation(since: started) }
            if let failure = await trust.verify(leaf: leaf) {
                logger.notice("TLS client certificate refused", metadata: ["reason": "\(failure)"])
                metrics.validationFailure(reason: "untrusted_chain")
                promise.succeed(.failed)
                return
            }
            do {
                switch try await revocation.revocationStatus(of: leaf) {
                case .good:
                    connections.register(serial: PKICore.Hex.encode(Array(leaf.serialNumber.bytes)), channel: channel)
                    promise.succeed(.certificateVerified)
                case .revoked, .unknown:
                    logger.notice("TLS client certificate refused: revoked or unknown", metadata: ["serial": "\(leaf.serialNumber)"])
                    metrics.validationFailure(reason: "revoked")
                    promise.succeed(.failed)
                }
            } catch {
                logger.error("revocation check failed; refusing handshake", metadata: ["error": "\(error)"])
                metrics.validationFailure(reason: "revocation_unavailable")
                promise.succeed(.failed)
            }
        }
    }
}
