import Foundation
import FuzzTargets

// libFuzzer entry points (https://llvm.org/docs/LibFuzzer.html). One binary holds every target;
// ROOTKEEPER_FUZZ_TARGET selects which parser this process drives, so each target still has its
// own corpus, run and report (scripts/fuzz/run.sh) while the sanitizer build links once.
// Compiled with -parse-as-library: libFuzzer provides `main`.

/// The target this process drives, chosen once in `LLVMFuzzerInitialize`.
nonisolated(unsafe) private var selected: FuzzTarget?

@_cdecl("LLVMFuzzerInitialize")
public func fuzzerInitialize(_ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>)
    -> Int32
{
    if let directory = ProcessInfo.processInfo.environment["ROOTKEEPER_FUZZ_SEEDS"] {
        do { try FuzzSeeds.write(to: directory) } catch {
            FileHandle.standardError.write(Data("seed corpus not written: \(error)\n".utf8))
            exit(1)
        }
        exit(0)
    }
    let name = ProcessInfo.processInfo.environment["ROOTKEEPER_FUZZ_TARGET"] ?? ""
    guard let target = FuzzTarget.all.first(where: { $0.name == name }) else {
        let names = FuzzTarget.all.map(\.name).joined(separator: " ")
        FileHandle.standardError.write(Data("set ROOTKEEPER_FUZZ_TARGET to one of: \(names)\n".utf8))
        exit(2)
    }
    selected = target
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzerTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> Int32 {
    let bytes = data.map { [UInt8](UnsafeBufferPointer(start: $0, count: size)) } ?? []
    _ = selected?.run(bytes)
    return 0
}

/// libFuzzer's driver (compiler-rt FuzzerInterface.h), for the `main` below.
@_silgen_name("LLVMFuzzerRunDriver")
private func runDriver(
    _ argc: UnsafeMutablePointer<Int32>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?>,
    _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> Int32
) -> Int32

/// SwiftPM links an executable target with `main` aliased to `<module>_main` (so tests can link
/// executables); this is that symbol, and it hands over to libFuzzer's driver exactly as
/// libFuzzer's own `main` would (which the alias keeps from being linked).
@_cdecl("RootkeeperFuzz_main")
public func rootkeeperFuzzMain(_ argc: Int32, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>?) -> Int32 {
    var count = argc
    var arguments = argv
    return runDriver(&count, &arguments) { data, size in fuzzerTestOneInput(data, size) }
}
