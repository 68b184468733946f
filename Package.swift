// swift-tools-version: 6.0
import PackageDescription

let package = Package(
    name: "slipway",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "slugc", targets: ["slugc"]),
        .executable(name: "receive-pack", targets: ["receive-pack"]),
        .executable(name: "slipway-bench", targets: ["slipway-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
    ],
    targets: [
        // C libraries, from Debian's -dev packages. Only the Swift layer right above each one imports it.
        .systemLibrary(
            name: "CGit2", pkgConfig: "libgit2", providers: [.apt(["libgit2-dev"])]),
        .systemLibrary(
            name: "CArchive", pkgConfig: "libarchive", providers: [.apt(["libarchive-dev"])]),
        .systemLibrary(
            name: "CZlib", pkgConfig: "zlib", providers: [.apt(["zlib1g-dev"])]),
        .systemLibrary(
            name: "CDeflate", pkgConfig: "libdeflate", providers: [.apt(["libdeflate-dev"])]),
        .systemLibrary(
            name: "CZstd", pkgConfig: "libzstd", providers: [.apt(["libzstd-dev"])]),

        // glibc and Linux calls that Swift's Glibc module leaves out (pipe2, signalfd, posix_spawn chdir).
        .target(name: "CProcessShims"),

        // Safe Swift layers over the C libraries: one owner per handle, C errors as Swift errors.
        .target(name: "SlipwayGit", dependencies: ["CGit2"]),
        .target(
            name: "SlipwayArchive",
            dependencies: ["CArchive", "CDeflate", "CZlib", "CZstd", .product(name: "Crypto", package: "swift-crypto")]),

        // Core: the release manifest and spool format (shared with runners), and the slug compiler pipeline.
        .target(name: "SlipwaySpool"),
        .target(
            name: "SlugCompiler",
            dependencies: [
                "SlipwayGit", "SlipwayArchive", "SlipwaySpool", "CProcessShims",
                .product(name: "Yams", package: "Yams"),
            ]),
        .target(
            name: "SlipwayReceive",
            dependencies: [
                "SlugCompiler", "SlipwayGit", "SlipwaySpool", "CProcessShims",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // Benchmarks: the deterministic test tree that scripts/bench and the large-tree tests generate.
        .target(name: "SlipwayBench"),

        // Executables: argument parsing only.
        .executableTarget(
            name: "slugc",
            dependencies: [
                "SlugCompiler", "SlipwaySpool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),
        .executableTarget(
            name: "receive-pack",
            dependencies: [
                "SlipwayReceive",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .executableTarget(
            name: "slipway-bench",
            dependencies: [
                "SlipwayBench", "SlugCompiler", "SlipwayGit", "SlipwaySpool",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Tests
        .target(name: "SlipwayTestSupport", dependencies: ["CProcessShims"], path: "Tests/SlipwayTestSupport"),
        .testTarget(name: "SlipwayGitTests", dependencies: ["SlipwayGit", "SlipwayBench", "SlipwayTestSupport"]),
        .testTarget(name: "SlipwayArchiveTests", dependencies: ["SlipwayArchive", "SlipwayTestSupport"]),
        .testTarget(name: "SlipwaySpoolTests", dependencies: ["SlipwaySpool", "SlipwayTestSupport"]),
        .testTarget(name: "SlugCompilerTests", dependencies: ["SlugCompiler", "SlipwayTestSupport"]),
        .testTarget(name: "SlipwayReceiveTests", dependencies: ["SlipwayReceive", "SlipwayTestSupport"]),
        .testTarget(
            name: "SlugcIntegrationTests",
            dependencies: ["slugc", "SlugCompiler", "SlipwayTestSupport"]),
        .testTarget(
            name: "PushIntegrationTests",
            dependencies: ["receive-pack", "slugc", "SlipwayReceive", "SlipwaySpool", "SlipwayTestSupport"]),
    ],
    swiftLanguageModes: [.v6]
)
