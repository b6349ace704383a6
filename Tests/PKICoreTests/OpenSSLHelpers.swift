import Foundation
import PKICore
import TestSupport
import X509

/// Small wrappers around the openssl CLI used as an independent verifier.
enum OpenSSL {
    static func tool() throws -> ExternalTool { try ExternalTool("openssl") }

    /// Runs `openssl verify -x509_strict` for `leaf` against `root` with `intermediate` untrusted.
    static func verify(root: Certificate, intermediate: Certificate, leaf: Certificate, purpose: String? = nil) throws -> ExternalTool.Result {
        let directory = try TemporaryDirectory("openssl-verify")
        defer { directory.remove() }
        try PEMCodec.pem(root).write(toFile: directory.file("root.pem"), atomically: true, encoding: .utf8)
        try PEMCodec.pem(intermediate).write(toFile: directory.file("intermediate.pem"), atomically: true, encoding: .utf8)
        try PEMCodec.pem(leaf).write(toFile: directory.file("leaf.pem"), atomically: true, encoding: .utf8)
        var arguments = ["verify", "-x509_strict", "-CAfile", directory.file("root.pem"), "-untrusted", directory.file("intermediate.pem")]
        if let purpose { arguments += ["-purpose", purpose] }
        return try tool().run(arguments + [directory.file("leaf.pem")])
    }

    /// `openssl x509 -noout -text` of a certificate.
    static func text(_ certificate: Certificate) throws -> String {
        try tool().run(["x509", "-noout", "-text"], stdin: Data(try PEMCodec.pem(certificate).utf8)).stdout
    }
}
