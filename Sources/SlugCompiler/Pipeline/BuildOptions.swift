public import Foundation
public import SlipwaySpool

/// Everything a build needs to know; `slugc build` fills it from its flags, the push hook from the app's settings.
public struct BuildOptions: Sendable {
    /// The app's source folder (never modified).
    public var appDirectory: String
    /// Buildpacks given explicitly, in run order; empty means `.buildpacks`, `BUILDPACK_URL` or detection.
    public var buildpacks: [String] = []
    /// Where the app itself may name buildpack folders (in `.buildpacks`, `BUILDPACK_URL` or ``buildpacks``, which a
    /// push takes from the app's settings): nil lets it name any folder (`slugc`, whose user owns the app's folder);
    /// a push gives the operator's `SLIPWAY_BUILDPACK_FOLDERS` (none by default), so that an app names only built-in
    /// buildpacks, git repositories by URL (https, http, git), or folders the operator offers
    /// (``BuildpackReference/checkChosenByApp(allowedFolders:)``).
    public var appBuildpackFolders: [String]?
    /// The app's config vars, as written to ENV_DIR.
    public var configVars: [String: String] = [:]
    /// Kept between builds of the app; created if missing.
    public var cacheDirectory: String
    /// Where the slug (`slug.tgz`, or `slug.tar.zst` with zstd) and `release.json` are written.
    public var outputDirectory: String
    /// How the slug is compressed: gzip (the default, which every runner reads) or zstd.
    public var compression: SlugCompression = .gzip
    /// The app's name.
    public var appName: String
    /// The commit being built, when known.
    public var sourceVersion: String?
    /// The stack name given to buildpacks as `STACK`.
    public var stack: String = ReleaseManifest.defaultStack
    /// The limit for the whole build (detect, compile, release, pack).
    public var timeout: Duration = .seconds(900)
    /// The largest compressed slug accepted, in MiB.
    public var maxSlugSizeMB: Int = 500
    /// The most a slug's files may hold once unpacked, in MiB (`SLIPWAY_MAX_SLUG_UNPACKED_MB`): a slug of sparse or
    /// repetitive files compresses to little and would fill a runner's disk.
    public var maxUnpackedSlugMB: Int = 4096
    /// Whether `release.json` carries the app's own config vars (over the buildpacks' defaults).
    public var includeConfigInManifest = false
    /// The mtime of every slug entry; `nil` means the commit time when known, else 0.
    public var sourceDateEpoch: Int64?
    /// The runtime store the built-in buildpacks take language runtimes from (`SLIPWAY_RUNTIME_STORE`,
    /// `slugc --runtime-store`): an `https://`, `http://` or `file://` URL, or a folder. See docs/languages.md.
    public var runtimeStore: String?
    /// Where runtimes fetched from the store are kept for every build (`SLIPWAY_RUNTIME_CACHE`); nil means
    /// ``defaultRuntimeCacheDirectory(environment:)``.
    public var runtimeCacheDirectory: String?
    /// Where a language's runtime comes from when no store is set: its upstream download site or a mirror of it
    /// (`SLIPWAY_RUNTIME_UPSTREAM_GO`, `_JAVA`, `_PYTHON`, `_NODE`, or `off`), by variable name. See docs/languages.md.
    public var runtimeUpstreams: [String: String] = [:]
    /// The built-in buildpacks; `nil` finds them next to the executable.
    public var builtinBuildpacks: BuiltinBuildpacks?
    /// Where the build's temporary workspace is created (default: `$TMPDIR` or `/tmp`).
    public var temporaryDirectory: String?
    /// `PATH` given to buildpacks.
    public var path: String = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
    /// When set, a line is printed whenever a buildpack has been silent this long, so SSH and proxy idle timeouts do
    /// not drop the connection during a long silent step.
    public var keepAliveInterval: Duration?
    /// Whether the failure headline uses the push wording (`Push rejected, failed to compile …`).
    public var pushWording = false
    /// How buildpacks are confined (sandbox, build user, resource limits).
    public var sandbox = BuildSandbox()
    /// Bytes of buildpack output shown (and logged); past it, lines are dropped with one notice and the build
    /// goes on.
    public var outputLimit = 16 << 20
    /// The build stops when the disk holding its folders has less free space than this.
    public var minimumFreeSpace: Int64 = 256 << 20

    /// The folders may be relative to the current directory: they are kept absolute, since buildpacks run in the
    /// build folder and see the cache as `$2` (a relative `--cache-dir` pointed them at nothing, and no buildpack
    /// detected the app).
    public init(appDirectory: String, cacheDirectory: String, outputDirectory: String, appName: String) {
        self.appDirectory = Self.absolute(appDirectory)
        self.cacheDirectory = Self.absolute(cacheDirectory)
        self.outputDirectory = Self.absolute(outputDirectory)
        self.appName = appName
    }

    static func absolute(_ path: String) -> String {
        URL(fileURLWithPath: path).standardizedFileURL.path
    }

    /// Applies the settings an operator gives through the environment: `SLIPWAY_SANDBOX`, `SLIPWAY_BUILD_USER`
    /// (see ``BuildSandbox``), `SLIPWAY_OUTPUT_LIMIT_MB` (``outputLimit``) and `SLIPWAY_MIN_FREE_MB`
    /// (``minimumFreeSpace``), `SLIPWAY_MAX_SLUG_UNPACKED_MB` (``maxUnpackedSlugMB``), `SLIPWAY_RUNTIME_STORE`
    /// (``runtimeStore``), `SLIPWAY_RUNTIME_CACHE` (``runtimeCacheDirectory``) and `SLIPWAY_RUNTIME_UPSTREAM_*`
    /// (``runtimeUpstreams``).
    public mutating func apply(environment: [String: String]) throws {
        sandbox = try BuildSandbox.fromEnvironment(environment)
        func megabytes(_ key: String) throws -> Int? {
            guard let text = environment[key], !text.isEmpty else { return nil }
            guard let value = Int(text), value >= 0 else {
                throw BuildError(.configInvalid, "\(key) is '\(text)'.", hint: "Set it to a whole number of megabytes.")
            }
            return value
        }
        if let limit = try megabytes("SLIPWAY_OUTPUT_LIMIT_MB") { outputLimit = limit << 20 }
        if let free = try megabytes("SLIPWAY_MIN_FREE_MB") { minimumFreeSpace = Int64(free) << 20 }
        if let unpacked = try megabytes("SLIPWAY_MAX_SLUG_UNPACKED_MB"), unpacked > 0 { maxUnpackedSlugMB = unpacked }
        if let store = environment["SLIPWAY_RUNTIME_STORE"], !store.isEmpty { runtimeStore = store }
        if let cache = environment["SLIPWAY_RUNTIME_CACHE"], !cache.isEmpty { runtimeCacheDirectory = cache }
        for (key, value) in environment where key.hasPrefix(Self.runtimeUpstreamPrefix) && !value.isEmpty {
            runtimeUpstreams[key] = value
        }
    }

    /// The prefix of the variables naming each language's upstream (``runtimeUpstreams``).
    public static let runtimeUpstreamPrefix = "SLIPWAY_RUNTIME_UPSTREAM_"

    /// The default cache folder for `app`: `$XDG_CACHE_HOME/slipway/<app>`, else `~/.cache/slipway/<app>`.
    public static func defaultCacheDirectory(
        app: String, environment: [String: String] = ProcessInfo.processInfo.environment
    )
        -> String
    {
        let base =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache")
        return ((base as NSString).appendingPathComponent("slipway") as NSString).appendingPathComponent(app)
    }

    /// The runtime cache shared by every build of this user: `$XDG_CACHE_HOME/slipway-runtimes`, else
    /// `~/.cache/slipway-runtimes` (beside the apps' caches, never one of them).
    public static func defaultRuntimeCacheDirectory(
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> String {
        let base =
            environment["XDG_CACHE_HOME"].flatMap { $0.isEmpty ? nil : $0 }
            ?? ((environment["HOME"] ?? NSHomeDirectory()) as NSString).appendingPathComponent(".cache")
        return (base as NSString).appendingPathComponent("slipway-runtimes")
    }
}
