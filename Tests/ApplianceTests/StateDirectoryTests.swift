import ApplianceKit
import Foundation
import TestSupport
import Testing

@Suite("State directory layout and the start-up permission check")
struct StateDirectoryTests {
    @Test("create() makes the layout of docs/files.md#state-directory with 0700 private directories")
    func layout() throws {
        let directory = try TemporaryDirectory("state")
        defer { directory.remove() }
        let state = StateDirectory(path: directory.file("state"))
        try state.create()
        for path in [state.caPrivateDirectory, state.serverPrivateDirectory] {
            #expect(try mode(path) == 0o700)
        }
        for path in [state.crlHistoryDirectory, state.databaseDirectory, state.auditDirectory, state.backupDirectory] {
            #expect(FileManager.default.fileExists(atPath: path))
            #expect(try mode(path) & 0o007 == 0)
        }
        try state.checkPermissions()
    }

    @Test("the check refuses a 0644 private key and names the file and its mode")
    func refusesReadableKey() throws {
        let directory = try TemporaryDirectory("state")
        defer { directory.remove() }
        let state = StateDirectory(path: directory.file("state"))
        try state.create()
        FileManager.default.createFile(atPath: state.serverKey, contents: Data("key".utf8), attributes: [.posixPermissions: 0o600])
        try state.checkPermissions()
        try FileManager.default.setAttributes([.posixPermissions: 0o644], ofItemAtPath: state.serverKey)
        let error = #expect(throws: ApplianceError.self) { try state.checkPermissions() }
        #expect(error?.code == .unsafeStateDirectory)
        #expect(error?.reason.contains(state.serverKey) == true)
        #expect(error?.reason.contains("0644") == true)
    }

    @Test("the check refuses a private directory opened to the group")
    func refusesOpenDirectory() throws {
        let directory = try TemporaryDirectory("state")
        defer { directory.remove() }
        let state = StateDirectory(path: directory.file("state"))
        try state.create()
        try FileManager.default.setAttributes([.posixPermissions: 0o750], ofItemAtPath: state.caPrivateDirectory)
        let error = #expect(throws: ApplianceError.self) { try state.checkPermissions() }
        #expect(error?.reason.contains("0750") == true)
    }

    func mode(_ path: String) throws -> Int {
        (try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int) ?? -1
    }
}
