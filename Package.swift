// swift-tools-version: 6.0
import PackageDescription

// Slipway runs on Linux only: it is built on glibc and on Linux's own calls (pidfd, signalfd, the child subreaper,
// namespaces through bubblewrap, cgroups). SwiftPM's `platforms` lists only Apple systems, so it is left out, and the
// system layer stops a build elsewhere with a clear error (Sources/SlipwaySystem/Platform.swift).
let package = Package(
    name: "slipway",
    products: [
        .executable(name: "slugc", targets: ["slugc"]),
        .executable(name: "receive-pack", targets: ["receive-pack"]),
        .executable(name: "slugrunner", targets: ["slugrunner"]),
        .executable(name: "slipway-bench", targets: ["slipway-bench"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.0.0"..<"5.0.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "6.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.80.0"),
        .package(url: "https://github.com/apple/swift-nio-ssh", from: "0.15.0"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based", from: "2.0.0"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
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

        // glibc and Linux calls that Swift's Glibc module leaves out (pipe2, signalfd, posix_spawn chdir); only the system
        // layer imports them.
        .target(name: "CProcessShims"),

        // The system layer, at the bottom of the graph: spawning and supervising children, exit statuses, signals,
        // line splitting, pipes, durable files and locks, the sandbox (bubblewrap, user, limits), and the console
        // that prints Heroku-style output. Every other target uses it rather than calling POSIX again.
        .target(name: "SlipwaySystem", dependencies: ["CProcessShims"]),

        // Safe Swift layers over the C libraries: one owner per handle, C errors as Swift errors.
        .target(name: "SlipwayGit", dependencies: ["SlipwaySystem", "CGit2"]),
        .target(
            name: "SlipwayArchive",
            dependencies: [
                "SlipwaySystem", "CArchive", "CDeflate", "CZlib", "CZstd",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // The one HTTP client layer: the process's shared async-http-client and the one bridge for synchronous
        // callers. Every user of HTTP stands on it (object store, router, swarm engine, health checks, forges).
        .target(
            name: "SlipwayHTTP",
            dependencies: [
                "SlipwaySystem",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]),

        // S3-compatible object storage: SigV4 signing (swift-crypto), streamed and multipart transfers
        // (async-http-client). Shared by the build side and the runner, which reach a spool held in a bucket.
        .target(
            name: "SlipwayObjectStore",
            dependencies: [
                "SlipwayHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // App webhooks: the events of an app's builds and releases, signed and queued one file per delivery, sent by
        // a detached deliverer with retries (docs/webhooks.md). The door reports events; the target sends them.
        .target(
            name: "SlipwayAppWebhooks",
            dependencies: [
                "SlipwaySystem", "SlipwaySpool", "SlipwayHTTP",
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ]),

        // Core: the release manifest and spool format (shared with runners), and the slug compiler pipeline.
        .target(
            name: "SlipwaySpool", dependencies: ["SlipwaySystem", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "SlugCompiler",
            dependencies: [
                "SlipwaySystem", "SlipwayGit", "SlipwayArchive", "SlipwaySpool",
                .product(name: "Yams", package: "Yams"),
            ]),
        // Add-ons: the provider contract, the PostgreSQL cluster Slipway owns and the providers, the add-on commands'
        // logic (the door registers them), the supervisor, and the firewall set the runner fills for dynos.
        .target(
            name: "SlipwayAddons",
            dependencies: [
                "SlipwaySystem", "SlipwayObjectStore", "SlipwayHTTP", .product(name: "Crypto", package: "swift-crypto"),
            ]),
        // What the door keeps under the root, below every door: the root's folders (`SlipwayRoot`), the apps and who may
        // reach them (the registry, keys, tokens, names), config vars, state files and the server log; and `DoorError`,
        // the door side's one error.
        .target(
            name: "SlipwayDoorRecords",
            dependencies: ["SlipwaySystem", "SlipwaySpool", .product(name: "Crypto", package: "swift-crypto")]),
        .target(
            name: "SlipwayReceive",
            dependencies: [
                "SlipwaySystem", "SlipwayDoorRecords", "SlugCompiler", "SlipwayGit", "SlipwaySpool",
                "SlipwayObjectStore",
                "SlipwayCerts", "SlipwayMetrics", "SlipwayAppWebhooks", "SlipwayAddons", "SlipwayPlatformEvents",
                .product(name: "Crypto", package: "swift-crypto"),
                // Commit statuses to the forges' APIs.
                "SlipwayHTTP",
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            // The fault-injection tests' failpoints exist in debug (test) builds only, never in a release build.
            swiftSettings: [.define("SLIPWAY_FAILPOINTS", .when(configuration: .debug))]),

        // What both network doors share: the listening socket and the drain at shutdown, the sessions running now,
        // connection limits and idle timeouts, their options and errors.
        .target(
            name: "SlipwayDoorKit",
            dependencies: [
                "SlipwaySystem", "SlipwayReceive", "SlipwayDoorRecords",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // The built-in SSH server (swift-nio-ssh): authenticates keys, runs each session as `receive-pack shell`.
        .target(
            name: "SlipwaySSHServer",
            dependencies: [
                "SlipwaySystem", "SlipwayReceive", "SlipwayDoorRecords", "SlipwayDoorKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSH", package: "swift-nio-ssh"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // The HTTP door (swift-nio's HTTP/1): git's smart HTTP protocol with API tokens; each request runs
        // `receive-pack http-backend`, the same code path as the SSH door.
        .target(
            name: "SlipwayHTTPServer",
            dependencies: [
                "SlipwaySystem", "SlipwayReceive", "SlipwayDoorRecords", "SlipwayDoorKit",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "Logging", package: "swift-log"),
            ]),

        // What the runner's router serves, apart from driving Caddy: the route table, Caddy's configuration (HTTPS
        // included), the DNS zone Caddy finds the web dynos in (and its small UDP server), Heroku's router error pages
        // and log lines, and where each app's host name stands with its certificate.
        .target(
            name: "SlipwayRouting",
            dependencies: [
                "SlipwaySystem", "SlipwaySpool", "SlipwayCerts",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),

        // What the runner's parts share: its view of the root's folders, its one error type, its file helpers.
        .target(name: "SlipwayRunnerKit", dependencies: ["SlipwaySystem", "SlipwaySpool"]),

        // How a dyno is confined on this machine: its app's own user, the sandbox (bubblewrap), a fresh private copy
        // of the release at every start, and a disk of its own with the host's reserve.
        .target(name: "SlipwayDynos", dependencies: ["SlipwaySystem", "SlipwaySpool", "SlipwayRunnerKit"]),

        // Apps' logs on the runner's machine: Heroku's log lines, each app's rotated log file, the dynos' output read on a
        // thread of its own within a budget per dyno (L11), and `logs --tail`'s reader.
        .target(name: "SlipwayLogs", dependencies: ["SlipwaySystem"]),

        // The Docker Engine API as the swarm engine uses it: the client (over the manager's unix socket, through the shared
        // HTTP client), its JSON, and the Swarm objects and service specs that dynos become.
        .target(
            name: "SlipwaySwarm",
            dependencies: [
                "SlipwaySpool", "SlipwayHTTP",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
            ]),

        // The door's build and release events (Heroku's `app[api]` lines): recorded by the door in the spool (its folder
        // or its bucket), copied by a runner from a bucket into its own root, and written into each app's log.
        .target(
            name: "SlipwayPlatformEvents",
            dependencies: ["SlipwaySystem", "SlipwaySpool", "SlipwayObjectStore", "SlipwayLogs"]),

        // Log drains: each line of an app's log as RFC 5424, to syslog over TCP or TLS (swift-nio, swift-nio-ssl) and to
        // HTTPS in Logplex's batches (the shared HTTP client), from a bounded buffer per drain on a thread of its own.
        .target(
            name: "SlipwayDrains",
            dependencies: [
                "SlipwaySystem", "SlipwaySpool", "SlipwayHTTP", "SlipwayLogs",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
                .product(name: "NIOTLS", package: "swift-nio"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),

        // Certificates for the router's HTTPS: parsing and checking them (swift-nio-ssl's BoringSSL), what Caddy keeps of
        // them in its storage and says of its orders in its log, an app's own one kept (`certs:add`).
        .target(
            name: "SlipwayCerts",
            dependencies: [
                "SlipwaySystem", "SlipwaySpool", .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ]),

        // Metrics and autoscaling: the apps' figures per minute as the router logs requests (the store under the root,
        // which the door reads), the Prometheus endpoint, and the autoscaling rule. The runner feeds it.
        .target(
            name: "SlipwayMetrics",
            dependencies: [
                "SlipwaySystem", "SlipwaySpool",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOConcurrencyHelpers", package: "swift-nio"),
            ]),

        // The reference runner: consumes the spool. It shares only the spool format, the system layer and the C
        // layers with the build side, so that a runner can be written from docs/spool.md alone.
        .target(
            name: "SlugRunner",
            dependencies: [
                "SlipwaySystem", "SlipwaySpool", "SlipwayArchive", "SlipwayObjectStore", "SlipwayHTTP",
                "SlipwayRouting", "SlipwayCerts", "SlipwayLogs", "SlipwaySwarm", "SlipwayRunnerKit", "SlipwayDynos",
                "SlipwayMetrics", "SlipwayAddons", "SlipwayDrains", "SlipwayPlatformEvents",
                // The router's Caddy admin API (over a unix socket or loopback TCP), web dynos' health checks, and the
                // Docker Engine API of the swarm engine (over the manager's unix socket).
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationCompat", package: "swift-nio"),
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
                "SlipwaySystem", "SlipwayReceive", "SlipwayDoorRecords", "SlipwayDoorKit", "SlipwaySSHServer",
                "SlipwayHTTPServer",
                "SlipwayAppWebhooks", "SlipwayAddons",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .executableTarget(
            name: "slugrunner",
            dependencies: [
                "SlugRunner", "SlipwayLogs", "SlipwaySwarm", "SlipwayRunnerKit", "SlipwayDynos", "SlipwaySpool",
                "SlipwaySystem",
                "SlipwayObjectStore",
                "SlipwayDrains",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        .executableTarget(
            name: "slipway-bench",
            dependencies: [
                "SlipwayBench", "SlugCompiler", "SlipwayGit", "SlipwaySpool", "SlipwayObjectStore", "SlipwayHTTP",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ]),

        // Tests
        .target(
            name: "SlipwayTestSupport",
            dependencies: ["SlipwaySystem", "SlipwaySpool", "SlugRunner", "SlipwaySwarm", "SlipwayRunnerKit"],
            path: "Tests/SlipwayTestSupport"),
        .testTarget(name: "SlipwaySystemTests", dependencies: ["SlipwaySystem", "SlipwayTestSupport"]),
        .testTarget(name: "SlipwayGitTests", dependencies: ["SlipwayGit", "SlipwayBench", "SlipwayTestSupport"]),
        .testTarget(name: "SlipwayArchiveTests", dependencies: ["SlipwayArchive", "SlipwayTestSupport"]),
        .testTarget(name: "SlipwaySpoolTests", dependencies: ["SlipwaySpool", "SlipwayTestSupport"]),
        .testTarget(name: "SlipwayAddonsTests", dependencies: ["SlipwayAddons", "SlipwayTestSupport"]),
        .testTarget(
            name: "SlugCompilerTests",
            dependencies: [
                "SlugCompiler", "SlipwayTestSupport", .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Yams", package: "Yams"),
            ]),
        .testTarget(
            name: "SlipwayReceiveTests",
            dependencies: [
                "SlipwayReceive", "SlipwayDoorRecords", "SlipwaySpool", "SlipwaySystem", "SlipwayTestSupport",
                .product(name: "PropertyBased", package: "swift-property-based"),
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(
            name: "SlugRunnerTests",
            dependencies: [
                "SlugRunner", "SlipwayRouting", "SlipwayCerts", "SlipwayLogs", "SlipwaySwarm", "SlipwayRunnerKit",
                "SlipwayDynos", "SlipwaySpool", "SlipwaySystem", "SlipwayTestSupport",
            ]),
        .testTarget(
            name: "SlipwayDrainsTests",
            dependencies: ["SlipwayDrains", "SlipwayLogs", "SlipwaySpool", "SlipwaySystem", "SlipwayTestSupport"]),
        .testTarget(
            name: "SlipwayPlatformEventsTests",
            dependencies: [
                "SlipwayPlatformEvents", "SlipwayObjectStore", "SlipwayHTTP", "SlipwayLogs", "SlipwaySpool",
                "SlipwayTestSupport",
            ]),
        .testTarget(
            name: "SlipwayMetricsTests", dependencies: ["SlipwayMetrics", "SlipwaySpool", "SlipwayTestSupport"]),
        .testTarget(
            name: "SlipwayAppWebhooksTests",
            dependencies: [
                "SlipwayAppWebhooks", "SlipwaySpool", "SlipwayTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(name: "SlipwayObjectStoreTests", dependencies: ["SlipwayObjectStore", "SlipwaySpool"]),
        .testTarget(
            name: "DoorKitTests",
            dependencies: ["SlipwayDoorKit", "SlipwayReceive", .product(name: "NIOEmbedded", package: "swift-nio")]),
        .testTarget(
            name: "SSHServerTests",
            dependencies: [
                "receive-pack", "SlipwaySSHServer", "SlipwayReceive", "SlipwayDoorRecords", "SlipwaySpool",
                "SlipwayTestSupport",
            ]),
        .testTarget(
            name: "HTTPDoorTests",
            dependencies: [
                "receive-pack", "SlipwayHTTPServer", "SlipwayReceive", "SlipwayDoorRecords", "SlipwaySpool",
                "SlipwayTestSupport",
                .product(name: "Crypto", package: "swift-crypto"),
            ]),
        .testTarget(
            name: "SlugcIntegrationTests",
            dependencies: ["slugc", "SlugCompiler", "SlipwayTestSupport"],
            // Apps the tests copy and build (not resources: read from the checkout, as examples/ are).
            exclude: ["Fixtures"]),
        .testTarget(
            name: "PushIntegrationTests",
            dependencies: [
                "receive-pack", "slugc", "slugrunner", "SlipwayReceive", "SlipwayDoorRecords", "SlipwaySpool",
                "SlipwayTestSupport",
                "SlipwayObjectStore", "SlipwayHTTP", "SlipwaySystem", "SlipwaySwarm", "SlipwayRunnerKit",
                "SlipwayAppWebhooks", "SlipwayAddons",
            ]),
        .testTarget(
            name: "SlugRunnerIntegrationTests",
            dependencies: [
                "slugrunner", "slugc", "receive-pack", "SlugRunner", "SlipwayRouting", "SlipwayCerts",
                "SlipwayRunnerKit", "SlipwaySpool", "SlipwayMetrics", "SlipwayTestSupport",
            ]),
    ],
    swiftLanguageModes: [.v6]
)

// Honest imports, for every target of the package:
// - InternalImportsByDefault: an `import` is internal unless it says `public import`, so a module's public API says
//   which other modules it exposes.
// - MemberImportVisibility: a file uses only the members of modules it imports itself, never those another file of
//   the target happened to import.
for target in package.targets where target.type != .system {
    target.swiftSettings =
        (target.swiftSettings ?? []) + [
            .enableUpcomingFeature("InternalImportsByDefault"), .enableUpcomingFeature("MemberImportVisibility"),
        ]
}
