import Foundation
import Logging
import Registration
import ServiceLifecycle

/// Resolves reservations that will never complete (docs/reservations.md). A reservation is
/// persisted before signing (docs/conventions.md#signing-path); if the process dies between reservation and record, or a
/// signing failure could not be released in-process, the `reserved` row would otherwise hold
/// what it consumed for ever — a renewal would find a "live successor", a token would stay spent,
/// an approved registration closed. ``ApplianceRuntime`` resolves every reservation left by an
/// earlier process before serving; this service resolves, every `interval`, those older than
/// `staleAfter` (longer than any request may run); the RA's event stream tells the revocation services.
struct ReservationReaperService: Service {
    let ca: IntermediateCA
    let staleAfter: TimeInterval
    let logger: Logger
    var interval: Duration = .seconds(60)

    func run() async throws {
        await cancelWhenGracefulShutdown { await loop() }
    }

    private func loop() async {
        while !Task.isCancelled {
            // Cancelled (shutdown): stop here rather than reap once more against a closing store.
            do { try await Task.sleep(for: interval) } catch { return }
            do {
                try await Self.reap(ca.authority, before: ca.clock.now() - staleAfter, logger: logger)
            } catch {
                // The next round retries; the failure is logged, not swallowed.
                logger.error("resolving stale certificate reservations failed", metadata: ["error": "\(error)"])
            }
        }
    }

    /// Releases every reservation made before `cutoff` and reports what was given back.
    /// The revocations reach the revocation services through the RA's event stream.
    static func reap(_ authority: RegistrationAuthority, before cutoff: Date, logger: Logger) async throws {
        let released = try await authority.reapStaleReservations(reservedBefore: cutoff, by: "system:reservation-reaper")
        guard !released.isEmpty else { return }
        for item in released {
            logger.notice(
                "released a stale certificate reservation",
                metadata: [
                    "serial": "\(item.certificate.serial)",
                    "token_restored": "\(item.restoredToken != nil)",
                    "registration_reopened": "\(item.reopenedRegistration?.uuidString.lowercased() ?? "-")",
                ])
        }
    }
}
