import Foundation
import SmartCard
import TestSupport
import Testing

/// Against pcscd with the vsmartcard vpcd driver and a vicc virtual card (see VirtualSmartCard).
@Suite("PC/SC with pcscd and a virtual card", .serialized)
struct PCSCIntegrationTests {
    @Test("readers are listed; no card times out; an inserted card shows an ATR; removal is seen")
    func cardLifecycle() async throws {
        let virtual = try VirtualSmartCard()
        defer { virtual.stop() }
        let context = try PCSCContext()

        let names = try context.readers().map(\.name)
        #expect(names.contains(VirtualSmartCard.readerName), "\(names)")
        #expect(names.contains(VirtualSmartCard.emptyReaderName), "\(names)")
        #expect(try context.readers().first { $0.name == VirtualSmartCard.readerName }?.cardPresent == false)

        let clock = ContinuousClock()
        let started = clock.now
        let timeout = #expect(throws: SmartCardError.self) {
            try context.waitForCard(reader: VirtualSmartCard.readerName, timeout: .milliseconds(700))
        }
        #expect(timeout?.code == .timedOut)
        let waited = clock.now - started
        #expect(waited >= .milliseconds(600) && waited < .seconds(5), "\(waited)")

        try virtual.insertCard()
        let card = try await context.waitForCard(reader: VirtualSmartCard.readerName, timeout: .seconds(20))
        #expect(card.cardPresent)
        // ISO/IEC 7816-3 §8.2: an ATR starts with TS = 3B (direct) or 3F (inverse convention).
        #expect(card.atr.map { !$0.isEmpty && ($0[0] == 0x3B || $0[0] == 0x3F) } == true, "\(card)")
        #expect(try context.readers().first { $0.name == VirtualSmartCard.readerName }?.atr == card.atr)

        virtual.removeCard()
        try await context.waitForRemoval(reader: VirtualSmartCard.readerName, timeout: .seconds(20))
        #expect(try context.readers().first { $0.name == VirtualSmartCard.readerName }?.cardPresent == false)

        let unknown = #expect(throws: SmartCardError.self) { try context.waitForCard(reader: "No Such Reader", timeout: .seconds(1)) }
        #expect(unknown?.code == .readerNotFound)

        // Without pcscd, establishing a context fails at once with a clear error (no hang). The
        // client library honours PCSCLITE_CSOCK_NAME (the 1.9.9 daemon does not), so the real
        // `ceremony devices` is pointed at a socket nobody serves — this runs whether or not a
        // system pcscd is up, passing the environment to the child explicitly.
        let socketless = try TemporaryDirectory("no-pcscd")
        defer { socketless.remove() }
        let token = try SoftHSMToken(label: "pcsc-test")
        defer { token.remove() }
        let askedAt = clock.now
        let devices = try ProductBinary.tool("ceremony").run(
            ["devices", "--module", SoftHSMToken.modulePath],
            environment: token.environment.merging(["PCSCLITE_CSOCK_NAME": socketless.file("pcscd.comm")]) { $1 }, timeout: 30)
        #expect(devices.output.contains("the PC/SC daemon (pcscd) is not running"), "\(devices.output)")
        #expect(clock.now - askedAt < .seconds(10), "no pcscd must be reported at once, not after a hang")
        // In process too, when this test started the daemon itself (a shared system daemon stays up).
        if virtual.startedDaemon {
            virtual.stop()
            let before = clock.now
            let missing = #expect(throws: SmartCardError.self) { try PCSCContext() }
            #expect(missing?.code == .serviceUnavailable && missing?.reason.contains("pcscd") == true)
            #expect(clock.now - before < .seconds(5))
        }
    }
}
