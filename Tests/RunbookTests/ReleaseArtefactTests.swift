import Foundation
import TestSupport
import Testing

/// Issue 18: the release artefacts of scripts/release.sh run where no Swift toolchain is: the
/// ceremony machine's live image. scripts/test.sh builds them and passes their directory in
/// ROOTKEEPER_RELEASE_DIR; without it these tests fail (they never skip).
@Suite("Release artefacts run without the toolchain", .serialized)
struct ReleaseArtefactTests {
    static let products = ["ceremony", "appliance", "agent"]
    static let repository = RunbookExecutionTests.runbooksDirectory.deletingLastPathComponent()

    static func releaseDirectory() throws -> String {
        let directory = try #require(
            ProcessInfo.processInfo.environment["ROOTKEEPER_RELEASE_DIR"],
            "ROOTKEEPER_RELEASE_DIR is not set: run the tests with scripts/test.sh, which builds the release with scripts/release.sh")
        for product in products {
            try #require(
                FileManager.default.isExecutableFile(atPath: directory + "/" + product), "no \(product) in \(directory): run scripts/release.sh")
        }
        return directory
    }

    @Test("SHA256SUMS verifies; no binary holds the build path or links the toolchain or an undocumented library")
    func checksumsAndLinkage() throws {
        let directory = try Self.releaseDirectory()
        let check = try ExternalTool("sha256sum").run(["-c", "SHA256SUMS"], currentDirectory: directory)
        #expect(check.succeeded, "\(check.output)")
        #expect(check.stdout == Self.products.map { "\($0): OK\n" }.joined())
        let documented = try String(contentsOfFile: Self.repository.appendingPathComponent("Runbooks/ceremony-machine.md").path, encoding: .utf8)
        for product in Self.products {
            // Reproducible: the checkout's path (which differs between builders) is mapped away.
            let bytes = try #require(FileManager.default.contents(atPath: directory + "/" + product))
            #expect(bytes.range(of: Data(Self.repository.path.utf8)) == nil, "\(product) contains the build path \(Self.repository.path)")
            let ldd = try ExternalTool("ldd").run([directory + "/" + product])
            #expect(ldd.succeeded, "\(ldd.output)")
            #expect(
                !ldd.output.contains("/opt/swift") && !ldd.output.contains("libswift") && !ldd.output.contains("libFoundation")
                    && !ldd.output.contains("not found"), "\(product) links:\n\(ldd.output)")
            // Every library it still needs beyond the C library is named in the ceremony machine runbook.
            for line in ldd.stdout.split(separator: "\n") {
                let name = String(line.trimmingCharacters(in: .whitespaces).split(separator: " ").first ?? "")
                let libc = ["linux-vdso.so.1", "libc.so.6", "libm.so.6", "libdl.so.2", "libpthread.so.0", "librt.so.1", "libutil.so.1"]
                guard !name.isEmpty, !libc.contains(name), !name.contains("ld-linux") else { continue }
                #expect(documented.contains(name), "\(product) needs \(name), which Runbooks/ceremony-machine.md does not list")
            }
        }
    }

    @Test("--version of each release binary names the version, the commit of this checkout and the build date")
    func versions() throws {
        let directory = try Self.releaseDirectory()
        let head = try ExternalTool("git").run(["-C", Self.repository.path, "rev-parse", "HEAD"]).stdout.trimmingCharacters(
            in: .whitespacesAndNewlines)
        for product in Self.products {
            let result = try ExternalTool(directory + "/" + product).run(["--version"])
            #expect(result.succeeded, "\(result.output)")
            let lines = result.stdout.split(separator: "\n").map(String.init)
            #expect(lines.count == 3, "\(result.stdout)")
            #expect(lines.first?.hasPrefix("\(product) ") == true && lines.first != "\(product) dev", "\(result.stdout)")
            #expect(
                lines.dropFirst().first?.hasPrefix("commit: \(head)") == true, "stale release (rebuild with scripts/release.sh): \(result.stdout)")
            #expect(lines.last?.range(of: #"^built: \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$"#, options: .regularExpression) != nil, "\(result.stdout)")
        }
        // A developer build says so instead of pretending to be a release.
        for product in Self.products {
            let result = try ProductBinary.tool(product).run(["--version"])
            #expect(result.stdout == "\(product) dev\ncommit: dev\nbuilt: dev\n", "\(result.output)")
        }
    }

    @Test("with /opt/swift hidden, the release ceremony runs --help and a rehearsal root ceremony whose transcript names the binary")
    func ceremonyWithoutToolchain() throws {
        let directory = try Self.releaseDirectory()
        let work = try TemporaryDirectory("release-ceremony")
        defer { work.remove() }
        let release = directory + "/ceremony"
        let developer = ProductBinary.path("ceremony")
        // A private mount namespace with an empty tmpfs over /opt/swift: the toolchain's runtime
        // libraries are gone for every process inside, as on a live image without Swift.
        let script = """
            set -euo pipefail
            mount -t tmpfs -o ro,size=1m rootkeeper-no-toolchain /opt/swift
            [ -z "$(ls -A /opt/swift)" ] && echo "toolchain hidden"
            if "$DEVELOPER" --help >/dev/null 2>developer.err; then echo "developer build ran"; else echo "developer build failed: $(head -1 developer.err)"; fi
            "$RELEASE" --help | head -1
            export SOFTHSM2_CONF="$WORK/softhsm2.conf"
            mkdir -p "$WORK/tokens" "$WORK/media"
            echo "directories.tokendir = $WORK/tokens" > "$SOFTHSM2_CONF"
            softhsm2-util --init-token --free --label root-ca --pin 1234 --so-pin 5678 >/dev/null
            (umask 077 && printf '1234\\n' > "$WORK/pin")
            printf 'module: /usr/lib/softhsm/libsofthsm2.so\\ntoken: root-ca\\npin-source: file:%s/pin\\noperator: A. Officer\\n' "$WORK" > "$WORK/env.yaml"
            "$RELEASE" template root --rehearsal > "$WORK/root.yaml"
            printf 'yes\\n' | "$RELEASE" run "$WORK/root.yaml" --media "$WORK/media" --env "$WORK/env.yaml" > "$WORK/root.log"
            "$RELEASE" verify-transcript "$WORK/media"
            ls "$WORK/media/root"
            """
        let result = try ExternalTool("unshare").run(
            ["--mount", "--propagation", "private", "bash", "-c", script],
            environment: ["RELEASE": release, "DEVELOPER": developer, "WORK": work.path], currentDirectory: work.path, timeout: 600)
        #expect(result.succeeded, "\(result.output)")
        #expect(result.stdout.contains("toolchain hidden\n"), "\(result.output)")
        // The hiding is real: the toolchain-linked developer build cannot even load.
        #expect(
            result.stdout.contains("developer build failed: ") && result.stdout.contains("error while loading shared libraries"), "\(result.output)")
        #expect(result.stdout.contains("OVERVIEW: Run scripted root CA key ceremonies"), "\(result.output)")
        #expect(result.stdout.contains("root-ca.crt"), "\(result.output)")
        #expect(result.stdout.contains("transcript OK: "), "\(result.output)")
        // Outside the namespace nothing was hidden.
        #expect(try !FileManager.default.contentsOfDirectory(atPath: "/opt/swift").isEmpty)

        // The transcript's tool.identity entry names the version and the SHA-256 sha256sum computes.
        let transcript = try String(contentsOfFile: work.file("media/transcript.jsonl"), encoding: .utf8)
        let entries = try transcript.split(separator: "\n").map { try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]) }
        let events = entries.compactMap { $0["event"] as? String }
        #expect(Array(events.prefix(2)) == ["ceremony.start", "tool.identity"], "\(events)")
        let identity = try #require(entries.first { $0["event"] as? String == "tool.identity" })
        let details = try #require(identity["details"] as? [String: String])
        let digest = try ExternalTool("sha256sum").run([release]).stdout.prefix(64)
        #expect(details["sha256"] == String(digest), "\(details)")
        #expect((identity["inputs"] as? [String: String])?["executable"] == String(digest))
        let version = try ExternalTool(release).run(["--version"]).stdout.split(separator: "\n").map(String.init)
        #expect(details["tool"] == "ceremony")
        #expect("ceremony " + (details["version"] ?? "") == version.first, "\(details) vs \(version)")
        #expect("commit: " + (details["commit"] ?? "") == version.dropFirst().first)
        #expect("built: " + (details["build-date"] ?? "") == version.last)
    }
}
