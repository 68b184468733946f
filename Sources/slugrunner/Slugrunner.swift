import ArgumentParser
import Foundation
import SlipwayObjectStore
import SlipwaySpool
import SlugRunner

/// `slugrunner`: the reference runner of Slipway's spool. Thin: it parses arguments and calls the SlugRunner
/// library.
@main
struct Slugrunner: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "slugrunner",
        abstract: "Run the releases Slipway hands over through its spool.",
        version: "0.1.0",
        subcommands: [Run.self, Watch.self, Logs.self, PS.self, Scale.self])
}

/// `--root`, shared by every command.
struct RootOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The server's folder, as given to receive-pack. (default: $SLIPWAY_ROOT, else \(RunnerRoot.defaultPath))",
            valueName: "dir"))
    var root: String?

    var resolved: RunnerRoot { RunnerRoot.resolve(root) }
}

/// `--host`, shared by `run` and `watch`.
struct HostOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The IPv4 address where ports are chosen, web processes are checked and URLs point.", valueName: "address"))
    var host: String = ListenAddress.loopback.host

    func address() throws -> ListenAddress {
        guard let address = ListenAddress(ipv4: host) else {
            throw ValidationError("--host \(host) is not an IPv4 address such as 127.0.0.1")
        }
        return address
    }
}

/// Writes one line to stderr.
func sayOnStderr(_ line: String) {
    FileHandle.standardError.write(Data((line + "\n").utf8))
}

/// Runs `body`, turning the runner's errors into one line on stderr and exit `code`.
func reporting<T>(exitCode code: Int32 = 1, _ body: () throws -> T) throws -> T {
    do {
        return try body()
    } catch let error as RunnerError {
        sayOnStderr(error.description)
        throw ExitCode(code)
    }
}

/// Seconds given on the command line as a duration.
func duration(_ seconds: Double, _ flag: String) throws -> Duration {
    guard seconds.isFinite, seconds >= 0 else { throw ValidationError("\(flag) takes a number of seconds, 0 or more") }
    return .milliseconds(Int64((seconds * 1000).rounded()))
}

extension Slugrunner {
    struct Run: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run one process of a release in the foreground, like `heroku local` and `heroku run`.",
            discussion: """
                The slug is checked against its release.json, unpacked into a fresh folder (removed afterwards) and \
                run with HOME set to it, PORT, DYNO, the release's config vars and .profile.d/*.sh sourced. \
                Exits with the process's own status; 125 when slugrunner itself cannot run it.
                """)
        @OptionGroup var root: RootOption
        @OptionGroup var host: HostOption
        @Argument(
            help: ArgumentHelp(
                "A spool entry's folder, a release.json with its slug next to it, or an app name (its current "
                    + "release).",
                valueName: "entry-or-release"))
        var target: String
        @Argument(help: ArgumentHelp("The process type to run.", valueName: "process-type"))
        var processType: String?
        @Argument(
            parsing: .postTerminator,
            help: ArgumentHelp("A one-off command instead (after --), run by bash -c.", valueName: "command"))
        var command: [String] = []
        @Option(help: ArgumentHelp("PORT for the process. (default: a free port)", valueName: "port"))
        var port: UInt16?
        @Option(help: ArgumentHelp("A stack this machine provides (repeatable).", valueName: "name"))
        var stack: [String] = ["slipway-1"]

        func run() throws {
            let options = ForegroundRun.Options(
                target: target, processType: processType, command: command, port: port, address: try host.address(),
                stacks: stack)
            let status = try reporting(exitCode: 125) {
                try ForegroundRun(root: root.resolved, options: options, say: sayOnStderr).run()
            }
            throw ExitCode(status)
        }
    }

    struct Watch: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run every app's latest release from the spool, and keep it running.",
            discussion: """
                Claims new spool entries, checks each slug's SHA-256, runs the release phase, starts the processes of \
                the formation, waits for every web process to accept connections, then stops the previous release. \
                SIGTERM or SIGINT stops every process it started and exits 0.
                """)
        @OptionGroup var root: RootOption
        @OptionGroup var host: HostOption
        @Option(
            help: ArgumentHelp("Seconds between SIGTERM and SIGKILL when stopping processes.", valueName: "seconds"))
        var grace: Double = 30
        @Option(
            help: ArgumentHelp(
                "Seconds every web process of a new release has to accept connections.", valueName: "seconds"))
        var bootTimeout: Double = 60
        @Option(help: ArgumentHelp("Seconds the release phase may run.", valueName: "seconds"))
        var releaseTimeout: Double = 3600
        @Option(help: ArgumentHelp("Seconds between two looks at the spool and the formations.", valueName: "seconds"))
        var interval: Double = 1
        @Option(help: ArgumentHelp("Seconds before the first restart of a crashed process.", valueName: "seconds"))
        var restartDelay: Double = 1
        @Option(help: ArgumentHelp("The longest wait before restarting a crashed process.", valueName: "seconds"))
        var maxRestartDelay: Double = 300
        @Option(help: ArgumentHelp("A stack this machine provides (repeatable).", valueName: "name"))
        var stack: [String] = ["slipway-1"]
        @Option(help: ArgumentHelp("The size in MB past which an app's log is rotated.", valueName: "MB"))
        var logMaxSize: Int = 10
        @Option(
            help: ArgumentHelp(
                "How dynos are confined: auto or bubblewrap (refuse to start dynos where bubblewrap does not work), or none.",
                valueName: "mode"))
        var sandbox: String = "auto"
        @Option(
            help: ArgumentHelp(
                "Where the router (Caddy, started and owned by the runner) takes requests, or none.",
                valueName: "address:port"))
        var router: String = "127.0.0.1:8080"
        @Option(
            help: ArgumentHelp(
                "Drive the Caddy already running with this admin address instead of starting one.",
                valueName: "address"))
        var routerAdmin: String?
        @Option(help: ArgumentHelp("Apps answer at <app>.<base domain>.", valueName: "domain"))
        var baseDomain: String = RouterSettings.defaultBaseDomain
        @Option(
            help: ArgumentHelp(
                "Seconds between two health checks of a web dyno (apps with a health check).", valueName: "seconds"))
        var healthInterval: Double = 10
        @Option(
            help: ArgumentHelp(
                "Where dynos run: local (processes on this machine) or swarm (services of a Docker Swarm).",
                valueName: "engine"))
        var engine: String = "local"
        @Option(
            help: ArgumentHelp(
                "With --engine swarm: the Engine API socket of a swarm manager.", valueName: "unix:///path"))
        var dockerHost: String = "unix:///var/run/docker.sock"
        @OptionGroup var bucket: BucketOptions

        func run() throws {
            var settings = WatchSettings()
            settings.address = try host.address()
            settings.grace = try duration(grace, "--grace")
            settings.bootTimeout = try duration(bootTimeout, "--boot-timeout")
            settings.releaseTimeout = try duration(releaseTimeout, "--release-timeout")
            settings.pollInterval = try duration(max(interval, 0.05), "--interval")
            settings.restart = RestartPolicy(
                initialDelay: try duration(restartDelay, "--restart-delay"),
                maximumDelay: try duration(maxRestartDelay, "--max-restart-delay"))
            settings.stacks = stack
            guard logMaxSize > 0 else { throw ValidationError("--log-max-size takes a size in MB, 1 or more") }
            settings.logMaxBytes = Int64(logMaxSize) * 1024 * 1024
            settings.bucket = try bucket.source(root: root.resolved)
            guard let mode = WatchSettings.SandboxMode(rawValue: sandbox) else {
                throw ValidationError("--sandbox is '\(sandbox)'; use auto, bubblewrap or none")
            }
            settings.sandbox = mode
            settings.healthInterval = try duration(healthInterval, "--health-interval")
            switch engine {
            case "local":
                break
            case "swarm":
                guard stack.count == 1, let name = stack.first else {
                    throw ValidationError("--engine swarm runs one stack, its image's: give --stack once")
                }
                settings.swarm = SwarmSettings(dockerHost: dockerHost, stack: name)
            default:
                throw ValidationError("--engine is '\(engine)'; use local or swarm")
            }
            try reporting {
                settings.router = try RouterSettings.from(
                    router: router, admin: routerAdmin, baseDomain: baseDomain, root: root.resolved)
                try Watcher(root: root.resolved, settings: settings, say: sayOnStderr).run()
            }
        }
    }

    struct Logs: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Print an app's log: its processes' lines and the runner's events.")
        @OptionGroup var root: RootOption
        @Argument(help: ArgumentHelp("The app.", valueName: "app"))
        var app: String
        @Option(name: [.short, .customLong("num")], help: "How many of the last lines to print.")
        var num: Int = 100
        @Flag(name: [.short, .long], help: "Keep printing lines as they are written (Ctrl-C stops).")
        var tail = false

        func run() throws {
            try reporting {
                try AppName.validate(app)
                let reader = LogReader(path: root.resolved.log(app))
                if tail {
                    try reader.follow(last: num) { line in
                        FileHandle.standardOutput.write(Data((line + "\n").utf8))
                    }
                } else {
                    for line in try reader.lastLines(num) { print(line) }
                }
            }
        }
    }

    struct PS: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "ps", abstract: "List an app's processes: state, port, release, uptime.")
        @OptionGroup var root: RootOption
        @Argument(help: ArgumentHelp("The app.", valueName: "app"))
        var app: String
        @Flag(help: "Print JSON.")
        var json = false

        func run() throws {
            try reporting {
                let status = try StatusReport(root: root.resolved, app: app).status()
                print(json ? try status.json() : StatusReport.text(status), terminator: "")
            }
        }
    }

    struct Scale: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Set how many processes of each type an app runs (web=2 worker=1); without changes, print it.")
        @OptionGroup var root: RootOption
        @Argument(help: ArgumentHelp("The app.", valueName: "app"))
        var app: String
        @Argument(help: ArgumentHelp("TYPE=COUNT changes.", valueName: "type=count"))
        var changes: [String] = []

        func run() throws {
            try reporting {
                if changes.isEmpty {
                    print(try Scaling.current(root: root.resolved, app: app).summary)
                } else {
                    let formation = try Scaling.scale(root: root.resolved, app: app, arguments: changes)
                    print("Scaled \(app) to \(formation.summary)")
                }
            }
        }
    }
}

/// `--spool s3://…` and its S3 options, for `slugrunner watch`.
struct BucketOptions: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "Read releases from an S3-compatible bucket, s3://bucket/prefix, instead of the root's spool folder.",
            valueName: "url"))
    var spool: String?
    @Option(help: ArgumentHelp("The S3 server, for --spool s3://…", valueName: "url"))
    var s3Endpoint: String?
    @Option(help: ArgumentHelp("The S3 signing region.", valueName: "region"))
    var s3Region = "us-east-1"
    @Flag(help: "Address the bucket in the path (endpoint/bucket/key), as most self-hosted servers want.")
    var s3PathStyle = false
    @Option(
        help: ArgumentHelp(
            "The name this runner writes into its claims; unique per runner. (default: host name and root)",
            valueName: "id"))
    var runnerID: String?

    /// The bucket to watch, nil for the folder. Credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, else
    /// `<root>/s3-credentials` (mode 0600).
    func source(root: RunnerRoot) throws -> BucketSource? {
        guard let spool else { return nil }
        guard let s3Endpoint else { throw ValidationError("--spool \(spool) needs --s3-endpoint") }
        do {
            let location = try S3Location(url: spool, endpoint: s3Endpoint, region: s3Region, pathStyle: s3PathStyle)
            let credentials = try S3Credentials.load(file: "\(root.path)/s3-credentials")
            return BucketSource(
                location: location, credentials: credentials,
                runnerID: runnerID ?? BucketSource.defaultRunnerID(root: root))
        } catch let error as ObjectStoreError {
            throw ValidationError(error.message)
        }
    }
}
