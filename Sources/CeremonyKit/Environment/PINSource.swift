import PKICore
import SecureFiles

/// How the token PIN reaches the ceremony (docs/ceremony.md#pin-sources): the terminal with echo off, an inherited
/// file descriptor, or a file only its owner can read — never the plan, argv or a log. The reading
/// is SecureFiles' ``SecretSource`` (shared with the appliance's passphrases); this type only
/// words its failures as ceremony errors.
public struct PINSource: Sendable, Equatable, CustomStringConvertible {
    let source: SecretSource

    /// Parses `prompt`, `fd:N` or `file:/absolute/path`; anything else (a PIN, say) is refused.
    public init(parsing text: String) throws {
        do {
            source = try SecretSource(parsing: text)
        } catch {
            throw CeremonyError.pin("pin-source: \(ErrorText.of(error))")
        }
    }

    public var description: String { source.description }

    /// Checks the source without reading the PIN (a file exists, is ours and 0600).
    public func checkWithoutReading() throws {
        do {
            try source.checkWithoutReading()
        } catch {
            throw CeremonyError.pin(
                "pin-source \(source): \(ErrorText.of(error)); fix the file or the environment's pin-source (prompt, fd:N, file:/path)")
        }
    }

    /// Reads the PIN (one line). The buffer is zeroed when the returned value is released.
    public func readPIN(prompt: String) throws -> SecretBytes {
        do {
            return try source.read(prompt: prompt)
        } catch {
            throw CeremonyError.pin(
                "cannot read the PIN from \(source): \(ErrorText.of(error)); fix the file or the environment's pin-source (prompt, fd:N, file:/path)")
        }
    }
}
