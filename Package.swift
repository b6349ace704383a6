// swift-tools-version:6.0
// Rootkeeper: offline root CA ceremony tool, online intermediate CA appliance and agent.
// Target layout follows docs/architecture.md#modules: anything that decides is a library; executables only parse
// input, wire objects and translate results. The *Kit libraries hold the executables' logic so
// the tests can drive it in-process as well as through the binaries.
import Foundation
import PackageDescription

let swiftSettings: [SwiftSetting] = [.swiftLanguageMode(.v6)]

// Release builds (scripts/release.sh) embed version, commit and build date through these variables,
// compiled into the one C file of CBuildInfo; without them every tool reports "dev".
let buildInfoDefines: [CSetting] = ["ROOTKEEPER_VERSION", "ROOTKEEPER_COMMIT", "ROOTKEEPER_BUILD_DATE"].compactMap { name in
    ProcessInfo.processInfo.environment[name].map { .define(name, to: "\"\($0)\"") }
}

let package = Package(
    name: "Rootkeeper",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "ceremony", targets: ["Ceremony"]),
        .executable(name: "appliance", targets: ["Appliance"]),
        .executable(name: "agent", targets: ["Agent"]),
        .executable(name: "rootkeeper-bench", targets: ["RootkeeperBenchmarks"]),
        .library(name: "PKICore", targets: ["PKICore"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-certificates.git", from: "1.21.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", from: "1.7.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/apple/swift-argument-parser.git", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-log.git", from: "1.16.0"),
        .package(url: "https://github.com/apple/swift-nio.git", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", from: "2.37.6"),
        // Hummingbird's own HTTP/1 codec modules, named for FastPathChannel (docs/performance.md).
        .package(url: "https://github.com/apple/swift-nio-extras.git", from: "1.35.2"),
        .package(url: "https://github.com/jpsim/Yams.git", from: "6.2.2"),
        .package(url: "https://github.com/groue/GRDB.swift.git", from: "7.10.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.13.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache.git", from: "2.1.1"),
    ],
    targets: [
        // MARK: C libraries
        // PKCS#11 header from p11-kit via pkg-config (see Sources/CP11Kit/shim.h); the shim dlopens modules.
        .systemLibrary(name: "CP11Kit", pkgConfig: "p11-kit-1", providers: [.apt(["libp11-kit-dev"])]),
        .target(name: "CHardening"),
        .target(name: "CPKCS11", dependencies: ["CP11Kit"], linkerSettings: [.linkedLibrary("dl")]),
        .target(name: "CBuildInfo", cSettings: buildInfoDefines),
        .systemLibrary(name: "CPCSC", pkgConfig: "libpcsclite", providers: [.apt(["libpcsclite-dev"])]),

        // MARK: Libraries
        .target(
            name: "PKICore",
            dependencies: [
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PKCS11",
            dependencies: [
                "CPKCS11", "PKICore",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "BuildInfo",
            dependencies: ["CBuildInfo", "PKICore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(name: "SecureFiles", dependencies: ["PKICore", "CHardening"], swiftSettings: swiftSettings),
        .target(name: "SmartCard", dependencies: ["CPCSC", "PKICore"], swiftSettings: swiftSettings),
        .target(
            name: "Registration",
            dependencies: ["PKICore", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CAStore",
            dependencies: [
                "Registration", "PKICore",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        // The online CA between the RA and the appliance's HTTP/TLS wiring: IntermediateCA, its CSR
        // checks and administrative queries (docs/architecture.md#modules).
        .target(
            name: "Authority",
            dependencies: [
                "PKICore", "Registration",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CeremonyKit",
            dependencies: [
                "PKICore", "PKCS11", "SmartCard", "SecureFiles", "BuildInfo",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "X509", package: "swift-certificates"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "ApplianceKit",
            dependencies: [
                "PKICore", "PKCS11", "Registration", "Authority", "CAStore", "SecureFiles",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTLS", package: "hummingbird"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "NIOHTTPTypesHTTP1", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "UnixSignals", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Yams", package: "Yams"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),  // scrypt for backup archives
                .product(name: "Mustache", package: "swift-mustache"),  // the console's server-rendered pages
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "AgentKit",
            dependencies: [
                "PKICore", "SecureFiles",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Executables (parse input, wire objects, translate results)
        .executableTarget(
            name: "Ceremony",
            dependencies: ["CeremonyKit", "SecureFiles", "BuildInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Appliance",
            dependencies: [
                "ApplianceKit", "PKICore", "SecureFiles", "BuildInfo",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "Agent",
            dependencies: ["AgentKit", "PKICore", "SecureFiles", "BuildInfo", .product(name: "ArgumentParser", package: "swift-argument-parser")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "RootkeeperBenchmarks",
            dependencies: [
                "PKICore", "ApplianceKit", "CAStore", "Registration",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Benchmarks/RootkeeperBenchmarks",
            swiftSettings: swiftSettings
        ),

        // MARK: Fuzz targets (scripts/fuzz/README.md): the parsers that see outside bytes, as the fuzzer
        // and FuzzRegressionTests feed them. Debug only (`@testable` imports); no product uses it.
        .target(
            name: "FuzzTargets",
            dependencies: [
                "PKICore", "PKCS11", "CeremonyKit", "ApplianceKit",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            path: "Fuzz/Targets",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .target(
            name: "TestSupport",
            dependencies: ["PKICore", "Registration", "CAStore", "SecureFiles", .product(name: "X509", package: "swift-certificates")],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PKICoreTests",
            dependencies: [
                "PKICore", "SecureFiles", "TestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "_CryptoExtras", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "PKCS11Tests", dependencies: ["PKCS11", "PKICore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "SmartCardTests", dependencies: ["SmartCard", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "RegistrationTests", dependencies: ["Registration", "CAStore", "PKICore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "CAStoreTests",
            dependencies: ["CAStore", "Registration", "PKICore", "TestSupport", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CeremonyTests", dependencies: ["CeremonyKit", "PKICore", "SecureFiles", "SmartCard", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(
            name: "ApplianceTests",
            dependencies: [
                "ApplianceKit", "Authority", "PKICore", "TestSupport", "Registration", "CAStore", "SecureFiles",
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOEmbedded", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(name: "FuzzRegressionTests", dependencies: ["FuzzTargets", "PKICore", "TestSupport"], swiftSettings: swiftSettings),
        .testTarget(name: "RunbookTests", dependencies: ["TestSupport", "SecureFiles"], swiftSettings: swiftSettings),
        .testTarget(
            name: "AgentTests",
            dependencies: [
                "AgentKit", "ApplianceKit", "PKICore", "TestSupport",
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "SwiftASN1", package: "swift-asn1"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
    ]
)

// MARK: Fuzzing (scripts/fuzz/README.md)
// The libFuzzer binary exists only when ROOTKEEPER_FUZZ=1: scripts/fuzz/run.sh sets it and builds
// in .build-fuzz with `-sanitize=fuzzer,address`, so the normal `swift build` never sees it (its
// `main` comes from libFuzzer, which an ordinary link does not have).
if ProcessInfo.processInfo.environment["ROOTKEEPER_FUZZ"] == "1" {
    package.targets.append(
        .executableTarget(
            name: "RootkeeperFuzz",
            dependencies: ["FuzzTargets"],
            path: "Fuzz/RootkeeperFuzz",
            swiftSettings: swiftSettings + [.unsafeFlags(["-parse-as-library"])]
        )
    )
}
