import Foundation
import SecureFiles
import TestSupport
import Testing

@Suite("Secure file operations")
struct SecureFileTests {
    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? NSNumber)?.intValue ?? -1
    }

    @Test("An exclusive write creates a 0600 file and refuses to overwrite it")
    func exclusiveWrite() throws {
        let directory = try TemporaryDirectory("securefile")
        defer { directory.remove() }
        let path = directory.file("key.pem")
        try SecureFile.writeExclusive(Array("secret".utf8), to: path)
        #expect(try mode(path) == 0o600)
        #expect(try SecureFile.read(path) == Array("secret".utf8))
        #expect(throws: SecureFileError(.alreadyExists, "\(path) already exists; refusing to overwrite")) {
            try SecureFile.writeExclusive(Array("other".utf8), to: path)
        }
        #expect(try SecureFile.read(path) == Array("secret".utf8))
    }

    @Test("An atomic replace swaps the content and leaves no temporary file behind")
    func atomicReplace() throws {
        let directory = try TemporaryDirectory("securefile")
        defer { directory.remove() }
        let path = directory.file("agent.crt")
        try SecureFile.replaceAtomically(Array("one".utf8), at: path, mode: 0o644)
        try SecureFile.replaceAtomically(Array("two".utf8), at: path, mode: 0o644)
        #expect(try SecureFile.read(path) == Array("two".utf8))
        #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["agent.crt"])
        #expect(try mode(path) == 0o644)
    }

    @Test("Private directories are 0700, and an existing group-readable one is refused")
    func privateDirectory() throws {
        let directory = try TemporaryDirectory("securefile")
        defer { directory.remove() }
        let path = directory.file("private")
        try SecureFile.createPrivateDirectory(path)
        #expect(try mode(path) == 0o700)
        try SecureFile.createPrivateDirectory(path)  // existing and private: fine
        try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: path)
        let loosened = #expect(throws: SecureFileError.self) { try SecureFile.createPrivateDirectory(path) }
        #expect(
            loosened?.code == .insecurePermissions && loosened?.reason.contains("accessible by group or others (mode 750)") == true,
            "\(String(describing: loosened))")
    }

    @Test("A private file readable by group or others, or a symlink, is refused", arguments: [0o600, 0o640, 0o604, 0o400])
    func privateFileCheck(permissions: Int) throws {
        let directory = try TemporaryDirectory("securefile")
        defer { directory.remove() }
        let path = directory.file("pin")
        try SecureFile.writeExclusive([1, 2, 3], to: path)
        try FileManager.default.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
        if permissions & 0o077 == 0 {
            try SecureFile.checkPrivateFile(path)
        } else {
            let exposed = #expect(throws: SecureFileError.self) { try SecureFile.checkPrivateFile(path) }
            #expect(
                exposed?.code == .insecurePermissions && exposed?.reason.contains("(mode \(String(permissions, radix: 8)), must be 0600)") == true,
                "\(String(describing: exposed))")
        }
        try FileManager.default.createSymbolicLink(atPath: directory.file("link"), withDestinationPath: path)
        let link = #expect(throws: SecureFileError.self) { try SecureFile.checkPrivateFile(directory.file("link")) }
        #expect(link?.code == .unexpectedFile && link?.reason.hasSuffix("link is not a regular file") == true, "\(String(describing: link))")
    }
}
