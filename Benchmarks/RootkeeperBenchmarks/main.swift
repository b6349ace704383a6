// rootkeeper-bench: dispatches on the first argument to one benchmark (DESIGN §7).
// Usage: swift run -c release rootkeeper-bench <benchmark> [options]
import Foundation

let arguments = Array(CommandLine.arguments.dropFirst())
let usage = """
    usage: rootkeeper-bench <benchmark> [options]
      issuance [--seconds N] [--rsa]   agent issuance (CSR → policy → lint → sign) vs raw signing
    """

switch arguments.first {
case "issuance":
    do {
        try await IssuanceBenchmark(arguments: Array(arguments.dropFirst())).run()
    } catch {
        FileHandle.standardError.write(Data("issuance benchmark failed: \(error)\n".utf8))
        exit(1)
    }
default:
    FileHandle.standardError.write(Data((usage + "\n").utf8))
    exit(2)
}
