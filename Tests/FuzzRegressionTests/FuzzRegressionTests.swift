import Foundation
import FuzzTargets
import Testing

/// What the fuzzer found stays found (scripts/fuzz/README.md, FUZZING.md): every input committed
/// under `Fuzz/corpus/<target>/` — each one once trapped, hung or exhausted memory in a parser — is
/// fed again to the same target by `swift test`, and the seeds the product's encoders make still
/// go through every target. The specific refusal each fixed input now gets is checked in the
/// module's own tests (named in FUZZING.md).
@Suite("Fuzz regressions: committed crash inputs and seeds replayed through every target")
struct FuzzRegressionTests {
    /// `Fuzz/corpus` in this checkout.
    static let corpus = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("Fuzz/corpus").path

    @Test("every committed input is replayed through its target without a trap and within a bounded time")
    func committedInputs() throws {
        let targets = Dictionary(uniqueKeysWithValues: FuzzTarget.all.map { ($0.name, $0) })
        let folders = (try? FileManager.default.contentsOfDirectory(atPath: Self.corpus)) ?? []
        for folder in folders.sorted() where !folder.hasPrefix(".") {
            let target = try #require(targets[folder], "Fuzz/corpus/\(folder) names no fuzz target")
            let files = try FileManager.default.contentsOfDirectory(atPath: "\(Self.corpus)/\(folder)").filter { !$0.hasPrefix(".") }
            for file in files.sorted() {
                let input = try [UInt8](Data(contentsOf: URL(fileURLWithPath: "\(Self.corpus)/\(folder)/\(file)")))
                let started = ContinuousClock.now
                _ = target.run(input)
                #expect(ContinuousClock.now - started < .seconds(10), "\(folder)/\(file) took \(ContinuousClock.now - started)")
            }
        }
    }

    @Test("the product's encoders make seeds for every target, and the target's parser accepts each one")
    func seeds() throws {
        let seeds = try FuzzSeeds.make()
        for target in FuzzTarget.all {
            let inputs = try #require(seeds[target.name], "no seeds for \(target.name)")
            #expect(!inputs.isEmpty, "\(target.name)")
            // A seed its parser refuses would start the fuzzer outside the format.
            for (index, input) in inputs.enumerated() { #expect(target.run(input), "\(target.name) seed-\(index) is refused") }
            // A truncated seed is refused, not trapped on.
            for input in inputs where input.count > 1 {
                #expect(
                    !target.run(Array(input.prefix(input.count / 2))) || ["pkcs11-uri", "yaml", "bundle"].contains(target.name),
                    "\(target.name): half a seed accepted")
            }
        }
        #expect(Set(seeds.keys) == Set(FuzzTarget.all.map(\.name)), "seeds for targets that do not exist")
    }
}
