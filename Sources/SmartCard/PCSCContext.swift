internal import CPCSC
import Foundation

/// A PC/SC context (pcsc-lite) that lists readers and watches card presence.
///
/// Owns the SCARDCONTEXT: SCardEstablishContext in `init`, SCardReleaseContext in `deinit`.
/// pcsc-lite contexts must not be used from two threads at once, so calls are serialised.
/// When pcscd is not running, `init` fails at once with `serviceUnavailable` (pcsc-lite reports
/// SCARD_E_NO_SERVICE without waiting), so a ceremony never hangs on a missing daemon.
public final class PCSCContext: CardReaderMonitoring, @unchecked Sendable {
    private let context: SCARDCONTEXT
    private let lock = NSLock()

    public init() throws {
        var context: SCARDCONTEXT = 0
        try Self.check(SCardEstablishContext(DWORD(SCARD_SCOPE_SYSTEM), nil, nil, &context), "SCardEstablishContext")
        self.context = context
    }

    deinit {
        _ = SCardReleaseContext(context)
    }

    public func readers() throws -> [CardReaderState] {
        try lock.withLock {
            try readerNames().map { name in
                try statusChange(reader: name, known: nil, timeout: .zero) ?? CardReaderState(name: name, cardPresent: false, atr: nil)
            }
        }
    }

    public func waitForStateChange(reader: String, known: CardReaderState?, timeout: Duration) throws -> CardReaderState? {
        try lock.withLock {
            guard try readerNames().contains(reader) else {
                throw SmartCardError(.readerNotFound, "reader \"\(reader)\" is not connected")
            }
            return try statusChange(reader: reader, known: known, timeout: timeout)
        }
    }

    private func readerNames() throws -> [String] {
        var length: DWORD = 0
        var rv = SCardListReaders(context, nil, nil, &length)
        if Self.code(rv) == Self.noReadersAvailable { return [] }
        try Self.check(rv, "SCardListReaders")
        var buffer = [CChar](repeating: 0, count: Int(length))
        rv = SCardListReaders(context, nil, &buffer, &length)
        if Self.code(rv) == Self.noReadersAvailable { return [] }
        try Self.check(rv, "SCardListReaders")
        // A multi-string: NUL-separated names ending in an empty string.
        return buffer.split(separator: 0).map { String(decoding: $0.map { UInt8(bitPattern: $0) }, as: UTF8.self) }
    }

    private func statusChange(reader: String, known: CardReaderState?, timeout: Duration) throws -> CardReaderState? {
        let milliseconds = max(0, min(timeout.components.seconds * 1000 + timeout.components.attoseconds / 1_000_000_000_000_000, 0xFFFF_FFFE))
        return try reader.withCString { name -> CardReaderState? in
            var state = SCARD_READERSTATE()
            state.szReader = name
            state.dwCurrentState = known.map { DWORD($0.eventState) & ~DWORD(SCARD_STATE_CHANGED) } ?? DWORD(SCARD_STATE_UNAWARE)
            let rv = SCardGetStatusChange(context, DWORD(milliseconds), &state, 1)
            if Self.code(rv) == Self.timeoutCode { return nil }
            try Self.check(rv, "SCardGetStatusChange")
            let present = state.dwEventState & DWORD(SCARD_STATE_PRESENT) != 0
            let atr = withUnsafeBytes(of: state.rgbAtr) { Array($0.prefix(Int(state.cbAtr))) }
            return CardReaderState(name: reader, cardPresent: present, atr: present && !atr.isEmpty ? atr : nil, eventState: UInt(state.dwEventState))
        }
    }

    // pcsc-lite return codes (pcsclite.h); compared as 32-bit values because LONG's width differs.
    private static let noService: UInt32 = 0x8010_001D
    private static let serviceStopped: UInt32 = 0x8010_001E
    private static let noReadersAvailable: UInt32 = 0x8010_002E
    private static let timeoutCode: UInt32 = 0x8010_000A
    private static let unknownReader: UInt32 = 0x8010_0009

    private static func code(_ rv: LONG) -> UInt32 { UInt32(truncatingIfNeeded: rv) }

    /// The single translation of a PC/SC return code into ``SmartCardError``.
    private static func check(_ rv: LONG, _ function: String) throws {
        guard rv != 0 else { return }
        let message = String(cString: pcsc_stringify_error(rv))
        let hex = "0x" + String(code(rv), radix: 16, uppercase: true)
        switch code(rv) {
        case noService, serviceStopped:
            throw SmartCardError(.serviceUnavailable, "\(function) failed: the PC/SC daemon (pcscd) is not running (\(message), \(hex))")
        case unknownReader:
            throw SmartCardError(.readerNotFound, "\(function) failed: unknown reader (\(hex))")
        default:
            throw SmartCardError(.pcscFailed, "\(function) failed: \(message) (\(hex))")
        }
    }
}
