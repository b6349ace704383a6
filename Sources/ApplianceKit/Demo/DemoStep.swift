import Foundation

/// Runs the product's own executables for the demo, the way an operator would type them, and
/// shows each command before its output so the demo doubles as a walkthrough.
struct DemoShell: Sendable {
    /// Directory holding `ceremony`, `appliance` and `agent` (the directory of this executable).
    let binDirectory: String
    /// Extra environment (SOFTHSM2_CONF for the demo token).
    let environment: [String: String]
    let log: @Sendable (String) -> Void

    struct Failure: Error, CustomStringConvertible {
        let description: String
    }

    /// Runs `tool arguments…` to completion, feeding `stdin`; throws with its output on failure.
    @discardableResult
    func run(
        _ tool: String, _ arguments: [String], stdin: String = "", quiet: Bool = false, shown: String? = nil, echo: Bool = true
    ) throws -> String {
        if echo { log("$ " + (shown ?? "\(tool) \(arguments.map(Self.quote).joined(separator: " "))")) }
        let process = try start(tool, arguments)
        let input = process.standardInput as! Pipe
        input.fileHandleForWriting.write(Data(stdin.utf8))
        try input.fileHandleForWriting.close()
        let output = (process.standardOutput as! Pipe).fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        let text = String(decoding: output, as: UTF8.self)
        if !quiet { for line in text.split(separator: "\n", omittingEmptySubsequences: false).dropLast() { log("  \(line)") } }
        guard process.terminationStatus == 0 else {
            throw Failure(description: "\(tool) \(arguments.first ?? "") failed (exit \(process.terminationStatus)):\n\(text)")
        }
        return text
    }

    /// Starts `tool arguments…` with stdout and stderr merged into one pipe (or into `file`).
    func start(_ tool: String, _ arguments: [String], output file: String? = nil) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: (binDirectory as NSString).appendingPathComponent(tool))
        if !FileManager.default.isExecutableFile(atPath: process.executableURL!.path) {
            process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
            process.arguments = [tool] + arguments
        } else {
            process.arguments = arguments
        }
        var env = ProcessInfo.processInfo.environment
        env.merge(environment) { _, new in new }
        process.environment = env
        if let file {
            guard FileManager.default.createFile(atPath: file, contents: nil, attributes: [.posixPermissions: 0o600]),
                let handle = FileHandle(forWritingAtPath: file)
            else {
                throw Failure(description: "cannot create \(file)")
            }
            process.standardOutput = handle
            process.standardError = handle
        } else {
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
        }
        process.standardInput = Pipe()
        try process.run()
        return process
    }

    static func quote(_ argument: String) -> String {
        argument.allSatisfy { $0.isLetter || $0.isNumber || "-_./:=@".contains($0) } ? argument : "'\(argument)'"
    }
}
