import Foundation

/// systemd's own rating of a unit's sandboxing: `systemd-analyze security --offline` on a copy
/// with the unit's file name (the tool names its result after the file).
public enum SystemdExposure {
    /// The "Overall exposure level" (0 = fully sandboxed, 10 = exposed) and the line it came from.
    public static func level(ofUnit path: String) throws -> (value: Double, line: String) {
        let work = try TemporaryDirectory("systemd-exposure")
        defer { work.remove() }
        let copy = work.file(URL(fileURLWithPath: path).lastPathComponent)
        try FileManager.default.copyItem(atPath: path, toPath: copy)
        let result = try ExternalTool("systemd-analyze").run(["security", "--offline=true", copy])
        let line = result.output.split(separator: "\n").first { $0.contains("Overall exposure level") }
        let score = line.flatMap { $0.split(separator: ":").last?.split(separator: " ").first }.flatMap { Double($0) }
        guard let score, let line else { throw TestFailure("no exposure level in: \(result.output)") }
        return (score, String(line))
    }
}
