import ApplianceKit
import ArgumentParser
import Foundation
import PKICore

/// `appliance admins add|list|revoke`: web console administrators (docs/console.md#administrator-certificates).
struct AdminsCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "admins", abstract: "Web console administrators and their certificates (through DIR/admin.sock).",
        subcommands: [Add.self, List.self, Revoke.self])

    struct Add: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Issue an administrator certificate: key, certificate, PKCS#12 and its password file in --out.",
            discussion: """
                The key is generated here and never sent; the appliance signs its public key under the
                administrator profile with the role. --out (default ./admin-NAME) is created 0700 and gets
                admin-NAME.crt, admin-NAME.key, admin-NAME.p12 and admin-NAME.p12.password (0600); import the
                .p12 into a browser with the password from that file.
                """)
        @OptionGroup var state: StateOptions
        @Argument(help: "Administrator name: letters, digits and hyphens (the certificate says CN=admin-NAME).") var name: String
        @Option(help: "viewer, approver, revoker or admin.") var role: String
        @Option(help: "Directory for the files (created 0700).") var out: String?

        func validate() throws {
            guard AdministratorRole(rawValue: role) != nil else {
                throw ValidationError("--role must be one of \(AdministratorRole.allCases.map(\.rawValue).joined(separator: ", "))")
            }
        }

        func run() throws {
            let credentials = AdministratorCredentials(directory: out ?? "admin-\(name)", name: name)
            try credentials.checkFree()
            let key = AdministratorCredentials.generateKey()
            let client = AdminClient(socketPath: StateDirectory(path: state.stateDirectory).adminSocket)
            let response = try client.send(
                AdminRequest(
                    command: "admins.add",
                    arguments: ["name": name, "role": role, "publicKey": try key.publicKey.serializeAsPEM().pemString]))
            guard response.ok, let chain = response.lines.first else {
                throw CommandFailure(response.error ?? "the appliance refused the request")
            }
            try credentials.write(key: key, chainPEM: chain)
            print("administrator admin-\(name) (\(role))")
            print("certificate: \(credentials.certificatePath)")
            print("key: \(credentials.keyPath)")
            print("pkcs12: \(credentials.pkcs12Path)")
            print("pkcs12 password file: \(credentials.passwordPath)")
        }
    }
    struct List: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "One line per administrator certificate, starting with its serial.")
        @OptionGroup var state: StateOptions
        @OptionGroup var output: FormatOption
        func run() throws { try sendAdmin(state, "admins.list", format: output.format) }
    }
    struct Revoke: ParsableCommand {
        static let configuration = CommandConfiguration(abstract: "Revoke every unrevoked certificate of an administrator.")
        @OptionGroup var state: StateOptions
        @Argument(help: "Administrator name (without admin-).") var name: String
        @Option(help: revocationReasonHelp) var reason: String = "unspecified"
        func validate() throws { try validateRevocationReason(reason) }
        func run() throws { try sendAdmin(state, "admins.revoke", ["name": name, "reason": reason]) }
    }
}
