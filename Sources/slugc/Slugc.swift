public import ArgumentParser
import Foundation
import SlipwaySpool
import SlipwaySystem
import SlugCompiler

/// `slugc`: the slug compiler. Thin: it parses arguments and calls ``SlugBuilder``.
@main
struct Slugc: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slugc",
        abstract: "Compile an app into a Heroku-style slug with buildpacks.",
        discussion: """
            Exit codes: 0 success; 10–19 bad input (app folder, config, output); 20–29 detect; \
            30–39 fetching buildpacks; 50–59 compile; 60–69 release and Procfile; 70–79 packing; \
            128+N interrupted by signal N. See docs/slug-compiler.md for each code.
            """,
        version: "0.1.0",
        subcommands: [Build.self, Detect.self],
        defaultSubcommand: Build.self)
}

/// Options shared by `build` and `detect`.
struct AppOptions: ParsableArguments {
    @Argument(help: "The app's source folder.")
    var appDirectory: String

    @Option(
        name: [.short, .customLong("buildpack")],
        help: ArgumentHelp(
            "A buildpack: a built-in name, a folder, or a git URL with an optional #ref. Repeat to run several, in order. (default: the app's .buildpacks file, else BUILDPACK_URL, else detection over the built-in buildpacks)",
            valueName: "dir-or-git-url"))
    var buildpack: [String] = []

    @Option(
        name: [.short, .customLong("env")],
        help: ArgumentHelp("A config var, KEY=VALUE. Repeatable.", valueName: "KEY=VALUE"))
    var env: [String] = []

    @Option(
        name: .customLong("env-file"),
        help: ArgumentHelp("Config vars from a dotenv file (KEY=VALUE lines).", valueName: "file"))
    var envFile: String?

    @Option(
        help: ArgumentHelp(
            "The folder holding the built-in buildpacks. (default: $SLIPWAY_BUILDPACKS, else found next to slugc)",
            valueName: "dir"))
    var buildpacksDir: String?

    @Option(help: ArgumentHelp("The app's name. (default: the app folder's name)", valueName: "name"))
    var app: String?

    @Option(
        help: ArgumentHelp(
            "How buildpacks are confined: auto (bubblewrap when it works here), bubblewrap, or none. (default: $SLIPWAY_SANDBOX, else auto)",
            valueName: "mode"))
    var sandbox: BuildSandbox.Mode?

    /// The config vars from `--env-file` then `-e` (later ones win).
    func configVars() throws -> [String: String] {
        var vars: [String: String] = [:]
        if let envFile {
            guard let text = try? String(contentsOfFile: envFile, encoding: .utf8) else {
                throw BuildError(
                    .configInvalid, "Cannot read the env file \(envFile).", hint: "Pass a readable dotenv file.")
            }
            for (key, value) in try ConfigVars.parseDotEnv(text, fileName: envFile) { vars[key] = value }
        }
        for assignment in env {
            let (key, value) = try ConfigVars.parseAssignment(assignment)
            vars[key] = value
        }
        return vars
    }

    var appName: String {
        app ?? URL(fileURLWithPath: appDirectory).standardizedFileURL.lastPathComponent
    }

    func baseOptions(output: String = "./slug", cacheDir: String? = nil) throws -> BuildOptions {
        var options = BuildOptions(
            appDirectory: appDirectory,
            cacheDirectory: cacheDir ?? BuildOptions.defaultCacheDirectory(app: appName),
            outputDirectory: output, appName: appName)
        options.buildpacks = buildpack
        options.configVars = try configVars()
        if let buildpacksDir { options.builtinBuildpacks = BuiltinBuildpacks(directory: buildpacksDir) }
        try options.apply(environment: ProcessInfo.processInfo.environment)
        if let sandbox { options.sandbox.mode = sandbox }
        return options
    }
}

extension Slugc {
    struct Build: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Build a slug (slug.tgz, or slug.tar.zst) and a release manifest (release.json) from an app folder.")

        @OptionGroup var app: AppOptions

        @Option(
            help: ArgumentHelp(
                "Kept between builds; created if missing. (default: ~/.cache/slipway/<app>)", valueName: "dir"))
        var cacheDir: String?

        @Option(
            name: [.short, .long], help: ArgumentHelp("Where the slug and release.json are written.", valueName: "dir"))
        var output: String = "./slug"

        @Option(
            help: ArgumentHelp(
                "How the slug is compressed: gzip (slug.tgz, read by every runner) or zstd (slug.tar.zst, faster and smaller, for runners that read it).",
                valueName: "gzip|zstd"))
        var compression: SlugCompression = .gzip

        @Option(
            help: ArgumentHelp(
                "The commit being built, recorded in the manifest. (default: the app folder's git HEAD, if any)",
                valueName: "sha"))
        var sourceVersion: String?

        @Option(help: ArgumentHelp("The stack name given to buildpacks.", valueName: "name"))
        var stack: String = ReleaseManifest.defaultStack

        @Option(help: ArgumentHelp("The time limit for the whole build, in seconds.", valueName: "seconds"))
        var timeout: Int = 900

        @Option(help: ArgumentHelp("The largest compressed slug accepted, in MB.", valueName: "MB"))
        var maxSlugSize: Int = 500

        @Flag(help: "Record the config vars given with -e/--env-file in release.json (they are left out by default).")
        var includeEnv = false

        @Option(
            help: ArgumentHelp(
                "Where the built-in buildpacks get language runtimes: an https://, http:// or file:// URL, or a folder. (default: $SLIPWAY_RUNTIME_STORE)",
                valueName: "url"))
        var runtimeStore: String?

        @Option(
            help: ArgumentHelp(
                "Where runtimes from the store are kept for every build. (default: $SLIPWAY_RUNTIME_CACHE, else ~/.cache/slipway-runtimes)",
                valueName: "dir"))
        var runtimeCache: String?

        func validate() throws {
            guard timeout > 0 else { throw ValidationError("--timeout must be a positive number of seconds.") }
            guard maxSlugSize > 0 else { throw ValidationError("--max-slug-size must be a positive number of MB.") }
        }

        func run() throws {
            let signals = SignalWatcher()
            ChildProcess.adoptOrphans()
            let console = Console(.fileDescriptor(1))
            var options: BuildOptions
            do {
                options = try app.baseOptions(output: output, cacheDir: cacheDir)
            } catch let error as BuildError {
                error.print(to: console)
                throw ExitCode(error.code.exitCode)
            }
            do {
                options.sourceVersion = sourceVersion
                options.stack = stack
                options.timeout = .seconds(timeout)
                options.maxSlugSizeMB = maxSlugSize
                options.includeConfigInManifest = includeEnv
                options.compression = compression
                if let runtimeStore { options.runtimeStore = runtimeStore }
                if let runtimeCache { options.runtimeCacheDirectory = runtimeCache }
                if let epoch = ProcessInfo.processInfo.environment["SOURCE_DATE_EPOCH"], let value = Int64(epoch) {
                    options.sourceDateEpoch = value
                }
                _ = try SlugBuilder(options: options, console: console, signals: signals).build()
            } catch let error as BuildError {
                throw ExitCode(error.code.exitCode)
            }
        }
    }

    struct Detect: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print which buildpack(s) would build the app; exit 1 when none would.")

        @OptionGroup var app: AppOptions

        func run() throws {
            let signals = SignalWatcher()
            ChildProcess.adoptOrphans()
            let console = Console(.fileDescriptor(1))
            do {
                let options = try app.baseOptions(cacheDir: "/nonexistent")
                let found = try SlugBuilder(options: options, console: Console(.buffer), signals: signals).detectOnly()
                for (reference, name) in found { console.raw("\(name) (\(reference))") }
            } catch let error as BuildError {
                error.print(to: console)
                throw ExitCode(1)
            }
        }
    }
}

extension Sandbox.Mode: ExpressibleByArgument {}
extension SlugCompression: ExpressibleByArgument {}
