import Foundation
import TestSupport
import Testing

/// A PKCS#11 module whose C_Initialize fails (here SoftHSM pointed at a token directory that does
/// not exist) is an error the officer can read, not a crash: the wrapper once finalised the module
/// it had just unloaded while unwinding the failed initialisation (SIGSEGV in `ceremony devices`).
@Suite("A PKCS#11 module that cannot initialise")
struct ModuleInitializationFailureTests {
    @Test("ceremony devices reports C_Initialize's error and exits 1, without crashing")
    func initializeFails() throws {
        let work = try TemporaryDirectory("bad-softhsm")
        defer { work.remove() }
        try "directories.tokendir = \(work.file("no-such-directory"))\nlog.level = ERROR\n"
            .write(toFile: work.file("softhsm2.conf"), atomically: true, encoding: .utf8)
        let result = try ProductBinary.tool("ceremony").run(
            ["devices", "--module", SoftHSMToken.modulePath],
            environment: ["SOFTHSM2_CONF": work.file("softhsm2.conf"), "PCSCLITE_CSOCK_NAME": work.file("pcscd.comm")])
        #expect(result.status == 1, "\(result.output)")
        #expect(result.stderr.contains("C_Initialize failed: CKR_GENERAL_ERROR"), "\(result.output)")
        #expect(!result.output.contains("Program crashed"), "\(result.output)")
    }
}
