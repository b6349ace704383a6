import ApplianceKit
import Foundation
import PKICore
import TestSupport
import Testing

/// Issue 11 part 5, the appliance's half: `init` (and the renewal CSR) prints and writes the CSR
/// key's SPKI SHA-256 and its PGP words for the operator to hand over on paper, in the state
/// directory and never on the media.
@Suite("appliance init writes the key printout for the ceremony officers")
struct SetupPrintoutTests {
    @Test("the printout's hash is the CSR key's SPKI SHA-256 (by openssl) and its words decode to it; the media has neither words nor printout")
    func printout() async throws {
        let harness = try await SetupHarness.make()
        defer { harness.remove() }
        let result = try await harness.initialize()
        let text = try String(contentsOfFile: result.printoutPath, encoding: .utf8)
        #expect(text == result.printout)
        #expect(result.printoutPath.hasPrefix(harness.state.root.path))

        // openssl computes the SPKI SHA-256 of the CSR's key on its own.
        let csr = "\(result.bundlePath)/intermediate.csr"
        let der = harness.directory.file("spki.der")
        let pub = try ExternalTool("openssl").run(["req", "-in", csr, "-pubkey", "-noout", "-out", harness.directory.file("pub.pem")])
        #expect(pub.succeeded, "\(pub.output)")
        #expect(
            try ExternalTool("openssl").run(["pkey", "-pubin", "-in", harness.directory.file("pub.pem"), "-outform", "DER", "-out", der]).succeeded)
        let digest = try ExternalTool("sha256sum").run([der]).stdout.prefix(64)
        #expect(text.contains("SPKI SHA-256: \(digest)\n"), "\(text)")

        let line = try #require(text.split(separator: "\n").first { $0.hasPrefix("PGP words 1-16: ") })
        let words = line.dropFirst("PGP words 1-16: ".count)
        #expect(words.split(separator: " ").count == 16)
        let decoded = try PGPWordList.bytes(from: String(words)).get()
        #expect(Hex.encode(decoded) == String(digest.prefix(32)))

        for name in try FileManager.default.subpathsOfDirectory(atPath: harness.media) {
            let path = "\(harness.media)/\(name)"
            let content = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            #expect(!content.contains(String(words)), "the words travel on the media in \(name)")
        }
    }
}
