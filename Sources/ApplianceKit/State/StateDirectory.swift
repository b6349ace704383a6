import Foundation
import Logging

/// The appliance's state directory (docs/files.md#state-directory):
///
/// ```
/// <state>/ca/            root-ca.crt intermediate-ca.crt ca-chain.crt
/// <state>/ca/private/    (0700) intermediate-ca.key (0600)
/// <state>/ca/issuers/<ski>/          intermediate-ca.crt        a retiring intermediate (renewal overlap)
/// <state>/ca/issuers/<ski>/private/  (0700) intermediate-ca.key (0600, file-backed keys only)
/// <state>/ca/retired/<ski>/          intermediate-ca.crt        retired: no key, no CRL regeneration
/// <state>/server/        server.crt server-chain.crt  private/ (0700) server.key (0600)
/// <state>/crl/           intermediate.crl root.crl history/
/// <state>/db/ audit/ backup/
/// <state>/admin.sock     (0600)
/// ```
public struct StateDirectory: Sendable {
    public let root: URL

    public init(path: String) {
        self.root = URL(fileURLWithPath: path, isDirectory: true)
    }

    public func path(_ components: String...) -> String {
        path(components)
    }

    func path(_ components: [String]) -> String {
        components.reduce(root) { $0.appendingPathComponent($1) }.path
    }

    public var caDirectory: String { path("ca") }
    public var caPrivateDirectory: String { path("ca", "private") }
    public var rootCertificate: String { path("ca", "root-ca.crt") }
    public var intermediateCertificate: String { path("ca", "intermediate-ca.crt") }
    public var caChain: String { path("ca", "ca-chain.crt") }
    /// Retiring intermediates, one directory per issuer named by its lower-case hex SKI.
    public var issuersDirectory: String { path("ca", "issuers") }
    /// Retired intermediates (certificate only; the key is gone).
    public var retiredIssuersDirectory: String { path("ca", "retired") }
    public func issuerDirectory(_ ski: String) -> String { path("ca", "issuers", ski) }
    public func issuerCertificate(_ ski: String) -> String { path(Self.issuerCertificateComponents(ski)) }
    public func issuerPrivateDirectory(_ ski: String) -> String { path("ca", "issuers", ski, "private") }
    public func issuerKey(_ ski: String) -> String { path(Self.issuerKeyComponents(ski)) }
    /// A retired intermediate's certificate (`ca/retired/<ski>/intermediate-ca.crt`).
    public func retiredIssuerCertificate(_ ski: String) -> String { path(Self.retiredIssuerCertificateComponents(ski)) }
    public var intermediateKey: String { path("ca", "private", "intermediate-ca.key") }
    public var serverCertificate: String { path("server", "server.crt") }
    public var serverChain: String { path("server", "server-chain.crt") }
    public var serverPrivateDirectory: String { path("server", "private") }
    public var serverKey: String { path("server", "private", "server.key") }
    public var crlDirectory: String { path("crl") }
    public var crlHistoryDirectory: String { path("crl", "history") }
    public var databaseDirectory: String { path("db") }
    public var auditDirectory: String { path("audit") }
    public var backupDirectory: String { path("backup") }
    public var adminSocket: String { path("admin.sock") }

    /// Directories and their modes. Private-key directories are 0700; the rest 0750 so a
    /// monitoring group may read certificates and CRLs but nothing secret.
    var layout: [(String, Int)] {
        [
            (root.path, 0o750), (caDirectory, 0o750), (caPrivateDirectory, 0o700),
            (path("server"), 0o750), (serverPrivateDirectory, 0o700),
            (crlDirectory, 0o750), (crlHistoryDirectory, 0o750),
            (databaseDirectory, 0o700), (auditDirectory, 0o700), (backupDirectory, 0o700),
        ]
    }

    /// Creates any missing directory of the layout with its mode and tightens the modes of
    /// existing ones (never loosens them).
    public func create() throws {
        let files = FileManager.default
        for (directory, mode) in layout {
            var isDirectory: ObjCBool = false
            if files.fileExists(atPath: directory, isDirectory: &isDirectory) {
                guard isDirectory.boolValue else {
                    throw ApplianceError.stateDirectory("\(directory) exists and is not a directory")
                }
                let current = try Self.mode(of: directory)
                if current & ~mode != 0 {
                    try files.setAttributes([.posixPermissions: current & mode], ofItemAtPath: directory)
                }
            } else {
                try files.createDirectory(atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: mode])
                // The umask may have narrowed the mode further; set it exactly.
                try files.setAttributes([.posixPermissions: mode], ofItemAtPath: directory)
            }
        }
    }

    /// Creates `audit/` (0700) when it is missing, as on a further node made from a copy of the
    /// state without it (docs/files.md#audit-journal): the journal is an export of the store's
    /// chain, so the new file is written from the store's first event and nothing is lost. Without
    /// this the journal failed every second, for ever. An `audit` that is not a directory is refused.
    public func ensureAuditDirectory(logger: Logger) throws {
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: auditDirectory, isDirectory: &isDirectory) {
            guard isDirectory.boolValue else { throw ApplianceError.stateDirectory("\(auditDirectory) exists and is not a directory") }
            return
        }
        try FileManager.default.createDirectory(atPath: auditDirectory, withIntermediateDirectories: false, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: auditDirectory)
        logger.notice("created the missing audit journal directory; the journal is rewritten from the store", metadata: ["path": "\(auditDirectory)"])
    }

    /// The start-up check: refuses when a private-key directory is accessible by group/other or
    /// any file inside it is readable/writable by group/other. The message names file and mode.
    public func checkPermissions() throws {
        let files = FileManager.default
        for directory in [caPrivateDirectory, serverPrivateDirectory] + (try retiringPrivateDirectories()) {
            guard files.fileExists(atPath: directory) else { continue }
            let mode = try Self.mode(of: directory)
            if mode & 0o077 != 0 {
                throw ApplianceError.stateDirectory(
                    "private key directory \(directory) has mode \(Self.octal(mode)); it must be 0700 (chmod 700 \(directory))")
            }
            for name in try files.contentsOfDirectory(atPath: directory).sorted() {
                let file = (directory as NSString).appendingPathComponent(name)
                let fileMode = try Self.mode(of: file)
                if fileMode & 0o077 != 0 {
                    throw ApplianceError.stateDirectory(
                        "private key \(file) has mode \(Self.octal(fileMode)); it must not be readable by group or other (chmod 600 \(file))")
                }
            }
        }
    }

    /// `ca/issuers/*/private` of every retiring intermediate.
    func retiringPrivateDirectories() throws -> [String] {
        guard FileManager.default.fileExists(atPath: issuersDirectory) else { return [] }
        return try FileManager.default.contentsOfDirectory(atPath: issuersDirectory).sorted().map(issuerPrivateDirectory)
    }

    static func mode(of path: String) throws -> Int {
        var info = stat()
        guard lstat(path, &info) == 0 else {
            throw ApplianceError.stateDirectory("cannot stat \(path): \(String(cString: strerror(errno)))")
        }
        return Int(info.st_mode) & 0o7777
    }

    static func octal(_ mode: Int) -> String { "0" + String(mode, radix: 8) }
}
