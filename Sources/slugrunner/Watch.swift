import ArgumentParser
import Foundation
import SlipwayDrains
import SlipwayDynos
import SlipwayLogs
import SlipwaySpool
import SlipwaySwarm
import SlipwaySystem
import SlugRunner

extension Slugrunner {
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
        @Option(
            help: ArgumentHelp(
                "Most seconds between two looks at the spool and the formations (a new release or a changed formation wakes the runner at once).",
                valueName: "seconds"))
        var interval: Double = 1
        @Option(help: ArgumentHelp("Seconds before the first restart of a crashed process.", valueName: "seconds"))
        var restartDelay: Double = 1
        @Option(help: ArgumentHelp("The longest wait before restarting a crashed process.", valueName: "seconds"))
        var maxRestartDelay: Double = 300
        @Option(help: ArgumentHelp("A stack this machine provides (repeatable).", valueName: "name"))
        var stack: [String] = [ReleaseManifest.defaultStack]
        @Option(help: ArgumentHelp("The size in MB past which an app's log is rotated.", valueName: "MB"))
        var logMaxSize: Int = 10
        @Option(
            help: ArgumentHelp(
                "Log lines per second each dyno may print (ten seconds' worth at once); past it, lines are dropped "
                    + "and counted (Error L11).",
                valueName: "lines"))
        var logRate: Int = LogRate.standard.linesPerSecond
        @Option(
            help: ArgumentHelp(
                "How dynos are confined: auto or bubblewrap (refuse to start dynos where bubblewrap does not work), or none.",
                valueName: "mode"))
        var sandbox: String = "auto"
        @Option(
            help: ArgumentHelp(
                "A network of its own per dyno: auto (where the runner can: root, ip, nsenter and nft), private "
                    + "(or refuse to start), or host (dynos share the host's network).",
                valueName: "mode"))
        var dynoNetwork: String = "auto"
        @Option(
            help: ArgumentHelp(
                "A disk of its own per dyno for /app and /tmp: auto (where the runner can: root, loop devices, "
                    + "mkfs.ext4), bounded (or refuse to start), preallocated (bounded, each disk's whole size taken "
                    + "from the host when its dyno starts: the reserve then holds strictly), or unbounded (the host's "
                    + "disk).",
                valueName: "mode"))
        var dynoDisk: String = "auto"
        @Option(
            help: ArgumentHelp(
                "Free space in MB on the host's disk that dynos may not take: none starts below it, and the dyno "
                    + "holding the most is stopped when they go below it.",
                valueName: "MB"))
        var diskReserve: Int = WatchSettings().diskReserveMB
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
                "Where the router also takes HTTPS requests, with certificates from the ACME CA (docs/https.md).",
                valueName: "address:port"))
        var routerTLS: String?
        @Option(
            help: ArgumentHelp(
                "The ACME CA's directory URL that issues the apps' certificates, or none.", valueName: "URL"))
        var acmeCA: String = RouterSettings.defaultACMECA
        @Option(help: ArgumentHelp("The ACME account's contact address.", valueName: "email"))
        var acmeEmail: String?
        @Option(
            help: ArgumentHelp(
                "A PEM file of roots the ACME CA's own HTTPS is checked against (a private CA); repeatable.",
                valueName: "file"))
        var acmeCARoot: [String] = []
        @Option(
            help: ArgumentHelp(
                "The certificate (with its chain) of *.<base domain>, which the apps' own names use.",
                valueName: "file"))
        var wildcardCert: String?
        @Option(help: ArgumentHelp("The private key of --wildcard-cert.", valueName: "file"))
        var wildcardKey: String?
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
        @Option(
            help: ArgumentHelp(
                "The most dynos one app may run, all process types together (a larger ps:scale is refused).",
                valueName: "count"))
        var maxDynosPerApp: Int = WatchSettings().maxDynosPerApp
        @Option(
            help: ArgumentHelp(
                "The most detached one-off dynos (run --detach) one app may have at once.", valueName: "count"))
        var maxDetachedRuns: Int = WatchSettings().maxDetachedRuns
        @Option(
            help: ArgumentHelp("Seconds a one-off dyno may run before it is stopped.", valueName: "seconds"))
        var oneOffLifetime: Double = 24 * 3600
        @Option(
            help: ArgumentHelp(
                "The apps' figures: on (kept per minute for `metrics`), off (no figures, no autoscaling), or an "
                    + "address:port to also serve them to Prometheus at /metrics.",
                valueName: "on|off|address:port"))
        var metrics: String = "on"
        @Option(
            help: ArgumentHelp(
                "Seconds of requests autoscaling looks at, and waits after each step.", valueName: "seconds"))
        var autoscaleWindow: Double = 60
        @Option(
            help: ArgumentHelp(
                "Send every app's log to this drain too: syslog+tls://host:port, syslog://host:port or "
                    + "https://host/path (repeatable).", valueName: "url"))
        var drain: [String] = []
        @Option(
            help: ArgumentHelp(
                "A CA bundle (PEM) that TLS drains' certificates may chain to, besides the system's roots.",
                valueName: "file"))
        var drainCa: String?
        @Option(
            help: ArgumentHelp(
                "Lines each drain holds while it is slow or down; past it the oldest are dropped and counted (L10).",
                valueName: "lines"))
        var drainBuffer: Int = DrainSettings().bufferLines
        @OptionGroup var bucket: BucketOptions
        @Option(
            help: ArgumentHelp(
                "The door's release key, as receive-pack release-key prints it, for a runner on another machine. "
                    + "(default: the door's key in the root)", valueName: "file"))
        var releaseKey: String?

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
            guard logRate > 0 else { throw ValidationError("--log-rate takes lines per second, 1 or more") }
            settings.logRate = LogRate(linesPerSecond: logRate)
            settings.bucket = try bucket.source(root: root.resolved)
            settings.releaseKey = releaseKey
            guard let mode = WatchSettings.SandboxMode(rawValue: sandbox) else {
                throw ValidationError("--sandbox is '\(sandbox)'; use auto, bubblewrap or none")
            }
            settings.sandbox = mode
            guard let network = DynoNetworkMode(rawValue: dynoNetwork) else {
                throw ValidationError("--dyno-network is '\(dynoNetwork)'; use auto, private or host")
            }
            settings.dynoNetwork = network
            guard let disk = DynoDiskMode(rawValue: dynoDisk) else {
                throw ValidationError("--dyno-disk is '\(dynoDisk)'; use auto, bounded, preallocated or unbounded")
            }
            settings.dynoDisk = disk
            guard diskReserve >= 0 else { throw ValidationError("--disk-reserve is \(diskReserve); give 0 or more MB") }
            settings.diskReserveMB = diskReserve
            settings.healthInterval = try duration(healthInterval, "--health-interval")
            guard maxDynosPerApp >= 1 else { throw ValidationError("--max-dynos-per-app takes a count, 1 or more") }
            settings.maxDynosPerApp = maxDynosPerApp
            guard maxDetachedRuns >= 0 else { throw ValidationError("--max-detached-runs takes a count, 0 or more") }
            settings.maxDetachedRuns = maxDetachedRuns
            settings.oneOffLifetime = try duration(oneOffLifetime, "--one-off-lifetime")
            switch metrics {
            case "on": break
            case "off": settings.metrics = false
            default:
                guard let colon = metrics.lastIndex(of: ":"), let port = Int(metrics[metrics.index(after: colon)...]),
                    (0...65535).contains(port), colon != metrics.startIndex
                else {
                    throw ValidationError("--metrics is '\(metrics)'; use on, off or <address>:<port>")
                }
                let host = String(metrics[..<colon])
                settings.metricsAddress = (host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")), port)
            }
            guard autoscaleWindow >= 1 && autoscaleWindow <= 3600 else {
                throw ValidationError("--autoscale-window takes seconds, 1 to 3600")
            }
            settings.autoscaleWindow = autoscaleWindow
            guard drainBuffer >= 1 else { throw ValidationError("--drain-buffer takes a number of lines, 1 or more") }
            settings.drains = DrainSettings(bufferLines: drainBuffer, caBundle: drainCa)
            if let drainCa, !FileManager.default.isReadableFile(atPath: drainCa) {
                throw ValidationError("--drain-ca \(drainCa) cannot be read: give a PEM file of CA certificates")
            }
            for url in drain {
                do throws(LogDrainURL.Refusal) {
                    settings.operatorDrains.append(try LogDrainURL.parse(url).normalized)
                } catch {
                    throw ValidationError("--drain: \(error.description)")
                }
            }
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
                guard settings.router != nil || routerTLS == nil else {
                    throw ValidationError("--router-tls needs a router: drop --router none")
                }
                settings.router?.tls = try RouterSettings.tls(
                    listen: routerTLS, acmeCA: acmeCA, email: acmeEmail, caRoots: acmeCARoot,
                    wildcardCert: wildcardCert, wildcardKey: wildcardKey)
                try Watcher(root: root.resolved, settings: settings, say: sayOnStderr).run()
            }
        }
    }
}
