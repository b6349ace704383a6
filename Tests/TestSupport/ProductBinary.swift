import Foundation

/// Locates the product executables (`ceremony`, `appliance`, `agent`) that `swift build` put next
/// to the test bundle, so integration tests drive the real binaries.
public enum ProductBinary {
    /// The build products directory (the directory holding the `.xctest` bundle).
    public static var productsDirectory: URL {
        if let override = ProcessInfo.processInfo.environment["ROOTKEEPER_BIN_DIR"] {
            return URL(fileURLWithPath: override)
        }
        for bundle in Bundle.allBundles where bundle.bundlePath.hasSuffix(".xctest") {
            return bundle.bundleURL.deletingLastPathComponent()
        }
        // swift-testing on Linux runs inside the `.xctest` executable itself.
        return URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
    }

    /// The path of the named product executable.
    public static func path(_ name: String) -> String {
        productsDirectory.appendingPathComponent(name).path
    }

    /// An `ExternalTool` wrapping the named product executable.
    public static func tool(_ name: String) throws -> ExternalTool {
        try ExternalTool(path(name))
    }
}
