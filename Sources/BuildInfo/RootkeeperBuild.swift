import CBuildInfo

/// What this binary is: the version, commit and build date that scripts/release.sh embedded
/// (see Sources/CBuildInfo), or "dev" for a developer build. Printed by every tool's `--version`.
public enum RootkeeperBuild {
    /// The release version ("dev" in a developer build).
    public static let version = String(cString: rootkeeper_build_version())
    /// The git commit the release was built from ("dev" in a developer build).
    public static let commit = String(cString: rootkeeper_build_commit())
    /// The build date, which is the commit date so that rebuilds are identical ("dev" in a developer build).
    public static let date = String(cString: rootkeeper_build_date())

    /// The `--version` text of `tool`: one line each for version, commit and build date.
    public static func versionText(tool: String) -> String {
        "\(tool) \(version)\ncommit: \(commit)\nbuilt: \(date)"
    }
}
