import Foundation

/// The files of the state directory `serve` loads (docs/files.md#state-directory layout), defined once: the
/// accessors of ``StateDirectory`` build their paths from the same components, `backup create`
/// collects exactly ``servedFiles()``, and `backup restore` accepts exactly these paths
/// (``isServedFile(_:)``). The database (an online snapshot) and the audit journal (whole lines
/// only) are added by the backup itself.
extension StateDirectory {
    static func issuerCertificateComponents(_ ski: String) -> [String] { ["ca", "issuers", ski, "intermediate-ca.crt"] }
    static func issuerKeyComponents(_ ski: String) -> [String] { ["ca", "issuers", ski, "private", "intermediate-ca.key"] }
    static func retiredIssuerCertificateComponents(_ ski: String) -> [String] { ["ca", "retired", ski, "intermediate-ca.crt"] }

    /// Every family of files `serve` reads. `server/private/server.key` is deliberately absent:
    /// the appliance issues itself a new server certificate at start when the key is missing.
    static let fileLayout: [StateFilePattern] = [
        // root-ca.crt, intermediate-ca.crt, ca-chain.crt
        StateFilePattern(.literal("ca"), .anyFile, kind: .certificate),
        // The current intermediate's key when it is file-backed.
        StateFilePattern(.literal("ca"), .literal("private"), .anyFile, kind: .privateKey),
        // Retiring intermediates of a renewal overlap: they still sign their CRL and OCSP
        // responder, and their agents still authenticate (IntermediateKeyLoader).
        StateFilePattern(.literal("ca"), .literal("issuers"), .issuerID, .literal("intermediate-ca.crt"), kind: .certificate),
        StateFilePattern(.literal("ca"), .literal("issuers"), .issuerID, .literal("private"), .literal("intermediate-ca.key"), kind: .privateKey),
        // Retired intermediates: the certificate of an issuer the store still names.
        StateFilePattern(.literal("ca"), .literal("retired"), .issuerID, .literal("intermediate-ca.crt"), kind: .certificate),
        StateFilePattern(.literal("crl"), .anyFile, kind: .crl),
        StateFilePattern(.literal("crl"), .literal("history"), .anyFile, kind: .crl),
        StateFilePattern(.literal("server"), .anyFile, kind: .certificate),
    ]

    /// The layout family `relative` belongs to, or nil when `serve` reads no such file.
    static func layoutKind(of relative: String) -> StateFile.Kind? {
        let components = relative.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
        return fileLayout.first { $0.matches(components) }?.kind
    }

    /// Whether `relative` is one of the files `serve` loads.
    static func isServedFile(_ relative: String) -> Bool { layoutKind(of: relative) != nil }

    /// The mode of a directory of the layout: 0700 for private-key directories, 0750 otherwise.
    static func directoryMode(_ relative: String) -> mode_t {
        relative.split(separator: "/").last == "private" ? 0o700 : 0o750
    }

    /// The regular files present now that `serve` loads, sorted by path. Walks the layout
    /// families; symbolic links and other non-regular files are skipped.
    public func servedFiles() throws -> [StateFile] {
        var found: [StateFile] = []
        for pattern in Self.fileLayout {
            try walk(pattern.components[...], prefix: [], pattern: pattern, into: &found)
        }
        return found.sorted { $0.relativePath < $1.relativePath }
    }

    private func walk(
        _ remaining: ArraySlice<StateFilePattern.Component>, prefix: [String], pattern: StateFilePattern,
        into found: inout [StateFile]
    ) throws {
        guard let component = remaining.first else { return }
        let rest = remaining.dropFirst()
        let directory = path(prefix)
        let last = rest.isEmpty
        let candidates: [String]
        switch component {
        case .literal(let name):
            candidates = [name]
        case .issuerID, .anyFile:
            var isDirectory: ObjCBool = false
            guard FileManager.default.fileExists(atPath: directory, isDirectory: &isDirectory), isDirectory.boolValue else { return }
            candidates = try FileManager.default.contentsOfDirectory(atPath: directory).sorted().filter { name in
                component == .issuerID ? StateFilePattern.isIssuerID(name) : StateFilePattern.isFileName(name)
            }
        }
        for name in candidates {
            let full = path(prefix + [name])
            var info = stat()
            guard lstat(full, &info) == 0 else { continue }
            let type = info.st_mode & S_IFMT
            if last {
                if type == S_IFREG { found.append(StateFile(relativePath: (prefix + [name]).joined(separator: "/"), kind: pattern.kind)) }
            } else if type == S_IFDIR {
                try walk(rest, prefix: prefix + [name], pattern: pattern, into: &found)
            }
        }
    }
}
