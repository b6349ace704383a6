import Foundation
import SmartCard

/// A scripted reader (the fake behind `CardReaderMonitoring`): each wait for a state change
/// returns the next scripted state, or nil (timeout) when the script is exhausted.
final class FakeCardReader: CardReaderMonitoring, @unchecked Sendable {
    private let lock = NSLock()
    private var script: [CardReaderState]
    private var current: CardReaderState
    private(set) var waits: [Duration] = []
    let knownReaders: [String]

    init(initial: CardReaderState, then script: [CardReaderState], readers: [String]? = nil) {
        current = initial
        self.script = script
        knownReaders = readers ?? [initial.name]
    }

    func readers() throws -> [CardReaderState] { lock.withLock { [current] } }

    func waitForStateChange(reader: String, known: CardReaderState?, timeout: Duration) throws -> CardReaderState? {
        try lock.withLock {
            guard knownReaders.contains(reader) else { throw SmartCardError(.readerNotFound, "reader \"\(reader)\" is not connected") }
            guard known != nil else { return current }
            waits.append(timeout)
            guard !script.isEmpty else { return nil }
            current = script.removeFirst()
            return current
        }
    }
}
