import Foundation
import PKICore
import TestSupport
import Testing

@testable import PKCS11

/// Private data objects (CKO_DATA) against the real SoftHSM2 module: created with the explicit
/// template, found only when private and only after login, updated in place, and refused when a
/// second one with the same label is asked for.
@Suite("PKCS#11 data objects against SoftHSM2", .serialized)
struct DataObjectTests {
    static let module = SoftHSMIntegrationTests.module
    static func pkcs11Tool(_ token: SoftHSMToken, _ arguments: [String]) throws -> ExternalTool.Result {
        try SoftHSMIntegrationTests.pkcs11Tool(token, arguments)
    }

    @Test("create, find, read and update a private token data object; pkcs11-tool sees it only after login")
    func lifecycle() async throws {
        try await SoftHSMToken.withExclusiveToken { token in
            let module = try PKCS11Module(path: Self.module)
            let session = try module.openSession(.label(token.label), pin: SecretBytes(utf8: token.userPIN))
            #expect(try session.dataObjects(label: "anchor").isEmpty)
            let created = try session.createDataObject(label: "anchor", application: "rootkeeper test", value: Array("one".utf8))
            #expect(created.value == Array("one".utf8))
            let found = try session.dataObjects(label: "anchor")
            #expect(found.count == 1 && found.first?.value == Array("one".utf8) && found.first?.application == "rootkeeper test")

            let again = #expect(throws: PKCS11Error.self) {
                try session.createDataObject(label: "anchor", application: "rootkeeper test", value: [1])
            }
            #expect(again?.code == .objectExists)

            // CKA_VALUE is read-only once created (the token says so); replace stages, destroys, relabels.
            let readOnly = #expect(throws: PKCS11Error.self) {
                try session.functions.setAttributes(
                    session: session.handle, object: try #require(found.first).handle, template: [.bytes(CKA.value, [2])])
            }
            #expect(readOnly?.returnValueName == "CKR_ATTRIBUTE_READ_ONLY")
            try session.replaceDataObject(label: "anchor", application: "rootkeeper test", value: Array("two".utf8))
            #expect(try session.dataObjects(label: "anchor").map(\.value) == [Array("two".utf8)])
            #expect(try session.dataObjects(label: "anchor" + PKCS11DataObject.stagingSuffix).isEmpty)
            #expect(try session.dataObject(label: "anchor")?.value == Array("two".utf8))

            // An independent reader: private, token, modifiable; invisible and unreadable without the PIN.
            let listed = try Self.pkcs11Tool(token, ["--login", "--pin", token.userPIN, "--list-objects", "--type", "data"])
            #expect(listed.succeeded && listed.stdout.contains("anchor"), "\(listed.output)")
            #expect(listed.stdout.contains("private") && listed.stdout.contains("modifiable"), "\(listed.stdout)")
            let anonymous = try Self.pkcs11Tool(token, ["--list-objects", "--type", "data"])
            #expect(!anonymous.stdout.contains("anchor"), "\(anonymous.output)")

            // A public object with the same label (planted without the PIN) is never mistaken for ours.
            let planted = token.directory.file("planted")
            try Data("forged".utf8).write(to: URL(fileURLWithPath: planted))
            let plant = try Self.pkcs11Tool(
                token, ["--login", "--pin", token.userPIN, "--write-object", planted, "--type", "data", "--label", "anchor"])
            #expect(plant.succeeded, "\(plant.output)")
            #expect(try session.dataObjects(label: "anchor").map(\.value) == [Array("two".utf8)])
        }
    }

    @Test("a replace interrupted after the old object was destroyed is found through its staged object, and finished by the next replace")
    func interruptedReplace() async throws {
        try await SoftHSMToken.withExclusiveToken { token in
            let module = try PKCS11Module(path: Self.module)
            let session = try module.openSession(.label(token.label), pin: SecretBytes(utf8: token.userPIN))
            // The state a crash between C_DestroyObject and the relabel leaves.
            _ = try session.createDataObject(label: "anchor" + PKCS11DataObject.stagingSuffix, application: "t", value: [7])
            #expect(try session.dataObject(label: "anchor")?.value == [7])
            try session.replaceDataObject(label: "anchor", application: "t", value: [8])
            #expect(try session.dataObject(label: "anchor")?.value == [8])
            #expect(try session.dataObjects(label: "anchor" + PKCS11DataObject.stagingSuffix).isEmpty)
            // Two objects under the one label are refused, not guessed between.
            _ = try session.functions.createObject(
                session: session.handle, template: DataObjectTemplate.create(label: "anchor", application: "t", value: [9]))
            let two = #expect(throws: PKCS11Error.self) { try session.dataObject(label: "anchor") }
            #expect(two?.code == .objectExists)
        }
    }

    @Test("private data objects are invisible to a session that is not logged in")
    func needsLogin() async throws {
        try await SoftHSMToken.withExclusiveToken { token in
            let module = try PKCS11Module(path: Self.module)
            let session = try module.openSession(.label(token.label), pin: SecretBytes(utf8: token.userPIN))
            _ = try session.createDataObject(label: "anchor", application: "rootkeeper test", value: [0x2A])
            try session.logout()
            #expect(try session.dataObjects(label: "anchor").isEmpty)
            let refused = #expect(throws: PKCS11Error.self) {
                try session.createDataObject(label: "other", application: "rootkeeper test", value: [1])
            }
            #expect(
                refused?.returnValueName == "CKR_USER_NOT_LOGGED_IN" || refused?.returnValueName == "CKR_TEMPLATE_INCONSISTENT",
                "\(String(describing: refused))")
        }
    }
}
