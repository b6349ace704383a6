import Foundation
import PKICore
import TestSupport
import Testing

@testable import CeremonyKit

@Suite("PINs come only from a prompt, a descriptor or a private file")
struct PINSourceTests {
    @Test("a 0600 PIN file is read without its newline")
    func privateFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("pin")
        FileManager.default.createFile(atPath: path, contents: Data("4321\n".utf8), attributes: [.posixPermissions: 0o600])
        #expect(try PINSource(parsing: "file:\(path)").readPIN(prompt: "").isEqual(to: SecretBytes(Array("4321".utf8))))
    }

    @Test("a PIN file readable by others is refused and the message says how to fix it")
    func groupReadableFile() throws {
        let dir = try TemporaryDirectory()
        defer { dir.remove() }
        let path = dir.file("pin")
        FileManager.default.createFile(atPath: path, contents: Data("4321\n".utf8), attributes: [.posixPermissions: 0o644])
        #expect {
            _ = try PINSource(parsing: "file:\(path)").readPIN(prompt: "")
        } throws: { error in
            "\(error)".contains("mode 0644") && "\(error)".contains("chmod 600") && !"\(error)".contains("4321")
        }
    }

    @Test("a PIN is read from an inherited descriptor")
    func fileDescriptor() throws {
        let pipe = Pipe()
        pipe.fileHandleForWriting.write(Data("987654\n".utf8))
        try pipe.fileHandleForWriting.close()
        let fd = pipe.fileHandleForReading.fileDescriptor
        #expect(try PINSource(parsing: "fd:\(fd)").readPIN(prompt: "").isEqual(to: SecretBytes(Array("987654".utf8))))
    }

    @Test("an empty PIN is refused")
    func emptyPIN() throws {
        let pipe = Pipe()
        try pipe.fileHandleForWriting.close()
        let error = #expect(throws: CeremonyError.self) {
            _ = try PINSource(parsing: "fd:\(pipe.fileHandleForReading.fileDescriptor)").readPIN(prompt: "")
        }
        #expect(error?.code == .pinSource && error?.reason.contains("is empty") == true, "\(String(describing: error))")
    }
}
