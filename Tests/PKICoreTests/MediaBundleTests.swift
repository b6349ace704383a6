import Foundation
import PKICore
import SecureFiles
import TestSupport
import Testing

@Suite("Media bundles")
struct MediaBundleTests {
    func sampleBundle() throws -> MediaBundle {
        try MediaBundle(
            payload: [
                "intermediate.csr": Array("-----BEGIN CERTIFICATE REQUEST-----\nAAAA\n-----END CERTIFICATE REQUEST-----\n".utf8),
                "notes.txt": Array("hello\n".utf8),
            ],
            summary: "Intermediate CSR for the 2026 ceremony\n")
    }

    @Test("sha256sum -c MANIFEST accepts a bundle we wrote, and we read it back unchanged")
    func sha256sumAcceptsBundle() throws {
        let directory = try TemporaryDirectory("bundle")
        defer { directory.remove() }
        let bundle = try sampleBundle()
        let path = directory.file("intermediate-csr")
        try BundleDirectory.write(bundle, to: path)
        let check = try ExternalTool("sha256sum").run(["-c", "--strict", "MANIFEST"], currentDirectory: path)
        #expect(check.succeeded, "\(check.output)")
        #expect(check.stdout.contains("SUMMARY: OK"))
        #expect(try BundleDirectory.read(from: path) == bundle)
    }

    @Test("Writing a bundle never overwrites an existing directory")
    func neverOverwrites() throws {
        let directory = try TemporaryDirectory("bundle")
        defer { directory.remove() }
        let path = directory.file("b")
        try BundleDirectory.write(sampleBundle(), to: path)
        let overwrite = #expect(throws: SecureFileError.self) { try BundleDirectory.write(sampleBundle(), to: path) }
        #expect(
            overwrite?.code == .alreadyExists && overwrite?.reason.contains("refusing to overwrite a bundle") == true,
            "\(String(describing: overwrite))")
    }

    enum Damage: String, CaseIterable { case flippedByte, extraFile, missingFile, unlistedManifestEntry }

    @Test("A bundle with one byte changed, an extra file or a missing file is refused", arguments: Damage.allCases)
    func damagedBundleRefused(damage: Damage) throws {
        let directory = try TemporaryDirectory("bundle")
        defer { directory.remove() }
        let path = directory.file("b")
        try BundleDirectory.write(sampleBundle(), to: path)
        switch damage {
        case .flippedByte:
            var bytes = Array(try Data(contentsOf: URL(fileURLWithPath: "\(path)/notes.txt")))
            bytes[0] ^= 0x01
            try Data(bytes).write(to: URL(fileURLWithPath: "\(path)/notes.txt"))
        case .extraFile:
            try Data("x".utf8).write(to: URL(fileURLWithPath: "\(path)/extra.bin"))
        case .missingFile:
            try FileManager.default.removeItem(atPath: "\(path)/notes.txt")
        case .unlistedManifestEntry:
            let manifest = try String(contentsOfFile: "\(path)/MANIFEST", encoding: .utf8)
            try manifest.split(separator: "\n").filter { !$0.hasSuffix("notes.txt") }.map { $0 + "\n" }.joined()
                .write(toFile: "\(path)/MANIFEST", atomically: false, encoding: .utf8)
        }
        #expect {
            _ = try BundleDirectory.read(from: path)
        } throws: { error in
            (error as? PKIError)?.code == .bundleIntegrity
        }
    }

    @Test("Manifest names that could escape the directory are refused before hashing", arguments: ["../etc/passwd", "a/b", ".hidden", "with space"])
    func pathTraversalRefused(name: String) throws {
        let manifest = "\(String(repeating: "0", count: 64))  \(name)\n"
        #expect {
            _ = try MediaBundle.verify(files: ["MANIFEST": Array(manifest.utf8)])
        } throws: { error in
            (error as? PKIError)?.code == .bundleIntegrity
        }
        let refusal = #expect(throws: PKIError.self) { try MediaBundle(payload: [name: [1]], summary: "s") }
        #expect(refusal?.code == .bundleIntegrity && refusal?.reason.hasPrefix("file name '\(name)' ") == true, "\(String(describing: refusal))")
    }
}
