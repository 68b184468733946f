import ArgumentParser
import Foundation
import Logging
import NIOConcurrencyHelpers
import NIOCore
import SlipwayDoorKit
import SlipwayDoorRecords
import SlipwayHTTPServer
import SlipwayReceive
import SlipwaySSHServer

#if canImport(Glibc)
    import Glibc
#endif

extension ReceivePack {
    struct Serve: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Run the built-in SSH server (and with --http the HTTP door): git push deploys without configuring OpenSSH.",
            discussion: """
                Users authenticate with the keys in the authorized_keys file that `receive-pack keys` maintains \
                (ed25519 and ECDSA keys; RSA keys work through OpenSSH only). Each session runs `receive-pack shell`, \
                exactly as OpenSSH's forced command does. SIGTERM or SIGINT stops accepting, lets running pushes \
                finish for --grace-period seconds, then cancels them cleanly and exits 0. \
                --http adds git's smart HTTP protocol on another address (HTTP Basic: any user name, a token from \
                `receive-pack tokens create` as the password); --no-ssh serves HTTP alone. Put it behind a router that \
                terminates TLS, \
                or give --tls-cert and --tls-key to serve HTTPS itself.
                """)

        @OptionGroup var root: RootOption
        @Option(help: ArgumentHelp("The address to listen on.", valueName: "host:port"))
        var listen = "127.0.0.1:2222"
        @Option(
            help: ArgumentHelp(
                "The ed25519 host key, created on first start. (default: <root>/ssh_host_ed25519_key)",
                valueName: "file"))
        var hostKey: String?
        @Option(help: ArgumentHelp("The authorized_keys file. (default: <root>/authorized_keys)", valueName: "file"))
        var authorizedKeys: String?
        @Option(help: ArgumentHelp("Also serve git over HTTP on this address.", valueName: "host:port"))
        var http: String?
        @Option(help: ArgumentHelp("The HTTP door's TLS certificate chain (PEM): it speaks HTTPS.", valueName: "file"))
        var tlsCert: String?
        @Option(help: ArgumentHelp("The private key of --tls-cert (PEM).", valueName: "file"))
        var tlsKey: String?
        @Option(
            help: ArgumentHelp(
                "A proxy (address or CIDR range) whose Forwarded or X-Forwarded-For header names the HTTP client; repeatable. From anyone else the header is ignored.",
                valueName: "address"))
        var trustedProxy: [String] = []
        @Flag(inversion: .prefixedNo, help: "Serve SSH (--no-ssh: the HTTP door alone).")
        var ssh = true
        @Option(help: ArgumentHelp("Connections open at once; more are closed at once.", valueName: "n"))
        var maxConnections = 64
        @Option(help: ArgumentHelp("Failed authentications before a connection is closed.", valueName: "n"))
        var maxAuthFailures = 6
        @Option(help: ArgumentHelp("Seconds a connection may take to authenticate.", valueName: "seconds"))
        var loginGraceTime = 30
        @Option(
            help: ArgumentHelp(
                "Builds at once across all apps; later pushes wait with a message. 0: no limit. (default: the number of CPUs)",
                valueName: "n"))
        var maxBuilds: Int?
        @Option(
            help: ArgumentHelp(
                "Seconds a connection may move nothing either way before it is closed and its push cancelled.",
                valueName: "seconds"))
        var idleTimeout = 300
        @Option(
            help: ArgumentHelp(
                "Seconds running pushes may go on after SIGTERM before they are cancelled.", valueName: "seconds"))
        var gracePeriod = 30

        func validate() throws {
            for (name, value) in [
                ("--max-connections", maxConnections), ("--max-auth-failures", maxAuthFailures),
                ("--login-grace-time", loginGraceTime), ("--idle-timeout", idleTimeout),
            ] where value < 1 {
                throw ValidationError("\(name) must be at least 1.")
            }
            if (tlsCert == nil) != (tlsKey == nil) { throw ValidationError("--tls-cert and --tls-key go together.") }
            if tlsCert != nil && http == nil { throw ValidationError("--tls-cert needs --http <host:port>.") }
            if !ssh && http == nil {
                throw ValidationError("--no-ssh needs --http <host:port>: nothing would be served.")
            }
            if !trustedProxy.isEmpty && http == nil {
                throw ValidationError("--trusted-proxy needs --http <host:port>: only the HTTP door reads it.")
            }
            do { _ = try TrustedProxies(trustedProxy) } catch let error as DoorError {
                throw ValidationError(error.text)
            }
            if (maxBuilds ?? 0) < 0 || gracePeriod < 0 {
                throw ValidationError("--max-builds and --grace-period cannot be negative.")
            }
        }

        func run() throws {
            try reporting {
                LoggingSystem.bootstrap(StreamLogHandler.standardError)
                var logger = Logger(label: "slipway.serve")
                logger.logLevel = .info
                let root = root.resolved
                try ServerSetup.initialize(root)
                let (host, port) = try ServerOptions.parseListen(listen)
                var options = ServerOptions(root: root, receivePack: ServerSetup.currentExecutable)
                options.host = host
                options.port = port
                options.hostKeyPath = hostKey
                options.authorizedKeysPath = authorizedKeys
                options.maxConnections = maxConnections
                options.maxAuthFailures = maxAuthFailures
                options.loginGraceTime = .seconds(loginGraceTime)
                options.maxBuilds = maxBuilds ?? options.maxBuilds
                options.gracePeriod = .seconds(gracePeriod)
                options.idleTimeout = .seconds(idleTimeout)
                options.passedEnvironment = ServerSetup.passedEnvironment()
                options.trustedProxies = trustedProxy

                // Signals are taken before the server starts, so an early SIGTERM is not lost.
                let stop = ShutdownSignals()
                var server: SSHServer?
                if ssh {
                    let started = try SSHServer(options: options, logger: logger)
                    let address = try started.start()
                    let created = started.hostKeyCreated ? "created" : "loaded"
                    say("Slipway SSH server listening on \(address.ipAddress ?? host):\(address.port ?? port)")
                    say("Host key \(started.hostKey.fingerprint) (ed25519, \(created): \(started.hostKey.path))")
                    say(
                        "Keys: \(options.authorizedKeysPath ?? root.authorizedKeys); builds at once: \(options.maxBuilds == 0 ? "no limit" : "\(options.maxBuilds)")"
                    )
                    for user in started.usersWithoutUsableKeys {
                        say(
                            "Warning: \(user) has only RSA or security keys, which this server cannot verify: add an ed25519 key (ssh-keygen -t ed25519), or use OpenSSH"
                        )
                    }
                    server = started
                }
                var door: HTTPDoor?
                if let http {
                    var httpOptions = options
                    (httpOptions.host, httpOptions.port) = try ServerOptions.parseListen(http)
                    let started = try HTTPDoor(options: httpOptions, logger: logger, certificate: tlsCert, key: tlsKey)
                    let address = try started.start()
                    say(
                        "Slipway HTTP\(tlsCert == nil ? "" : "S") door listening on \(address.ipAddress ?? httpOptions.host):\(address.port ?? httpOptions.port)"
                    )
                    door = started
                }
                let signal = stop.wait()
                say(
                    "Received \(signal == SIGINT ? "SIGINT" : "SIGTERM"): no new connections; waiting up to \(gracePeriod)s for running pushes"
                )
                let cancelled = Self.shutDown(server, door)
                say(
                    cancelled == 0
                        ? "Stopped." : "Stopped; \(cancelled) push(es) cancelled, nothing of them was published.")
            }
        }

        /// Shuts both doors down at once, each on its own thread (each stops accepting at once, then lets its
        /// pushes finish for the grace period); returns the number of pushes cancelled.
        static func shutDown(_ ssh: SSHServer?, _ http: HTTPDoor?) -> Int {
            let cancelled = NIOLockedValueBox(0)
            let done = DispatchSemaphore(value: 0)
            if let http {
                Thread.detachNewThread {
                    let count = http.shutdown()
                    cancelled.withLockedValue { $0 += count }
                    done.signal()
                }
            }
            let count = ssh?.shutdown() ?? 0
            if http != nil { done.wait() }
            return cancelled.withLockedValue { $0 } + count
        }

        /// A line on stdout, written at once (stdout is fully buffered when it is a pipe).
        private func say(_ line: String) {
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
    }
}
