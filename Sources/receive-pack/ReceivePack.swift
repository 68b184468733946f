import ArgumentParser
import Foundation
import SlipwayDoorRecords
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `receive-pack`: Slipway's server side. Thin: it parses arguments and calls the SlipwayReceive library.
@main
struct ReceivePack: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "receive-pack",
        abstract: "Serve `git push` deploys over SSH: keys, apps, the forced command and the git hooks.",
        version: "0.1.0",
        subcommands: [
            Init.self, Keys.self, Tokens.self, Apps.self, Shell.self, Serve.self, Hook.self, Recover.self,
            HTTPBackendCommand.self, Webhook.self, ReleaseKey.self, DeliverWebhooks.self, AddonsSupervisorCommand.self,
        ] + managementSubcommands)

    /// The commands every push starts (the SSH forced command, and both hooks) are parsed on their own: building the
    /// whole command tree, with every management command, is most of a few milliseconds of start-up that each push
    /// would pay three times.
    static func main() {
        let arguments = Array(CommandLine.arguments.dropFirst())
        switch arguments.first {
        case "shell": Shell.main(Array(arguments.dropFirst()))
        case "hook": Hook.main(Array(arguments.dropFirst()))
        default: main(arguments)
        }
    }
}

/// `--root`, shared by every command.
struct RootOption: ParsableArguments {
    @Option(
        help: ArgumentHelp(
            "The server's folder. (default: $SLIPWAY_ROOT, else \(SlipwayRoot.defaultPath))", valueName: "dir"))
    var root: String?

    var resolved: SlipwayRoot { SlipwayRoot.resolve(root) }

    /// Once the arguments are parsed, the root's settings file fills in what this process's environment does not set.
    func validate() throws {
        try reporting { try ServerSettings.enter(resolved, origin: .server) }
    }
}

/// Prints a one-line error to stderr and exits non-zero.
func fail(_ message: String, code: Int32 = 1) -> ExitCode {
    FileHandle.standardError.write(Data((message + "\n").utf8))
    return ExitCode(code)
}

/// Runs `body`, turning Slipway's errors into one clear line on stderr and exit 1.
func reporting(_ body: () throws -> Void) throws {
    do {
        try body()
    } catch let error as DoorError {
        throw fail(error.message)
    } catch let error as ExitCode {
        throw error
    } catch let error as CleanExit {
        throw error
    } catch {
        throw fail("slipway: \(error)")
    }
}

extension ReceivePack {
    struct Recover: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "Finish what killed pushes left: release builds git accepted, hand over recorded releases, remove half-written ones.",
            discussion:
                "Every push, config change and rollback does this for its app first; run it after a crash or at boot to do it for all apps at once."
        )
        @OptionGroup var root: RootOption
        @Argument(help: "The apps (default: every app).") var apps: [String] = []

        func run() throws {
            try reporting {
                let report = try ReleaseRecovery.recoverAll(
                    root: root.resolved, apps: apps, waitLimit: AppLock.waitLimit(ProcessInfo.processInfo.environment))
                print(report.isEmpty ? "Nothing to recover." : report.joined(separator: "\n"))
            }
        }
    }

    struct Init: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Create the server's folder layout (idempotent) and print the next steps.")
        @OptionGroup var root: RootOption
        @Option(
            help: ArgumentHelp(
                "Where releases go: s3://bucket/prefix (an S3-compatible bucket), or local (the spool folder). "
                    + "(default: unchanged; the folder at first)", valueName: "spool"))
        var spool: String?
        @Option(help: ArgumentHelp("The S3 server, for --spool s3://…", valueName: "url"))
        var s3Endpoint: String?
        @Option(help: ArgumentHelp("The S3 signing region.", valueName: "region"))
        var s3Region = "us-east-1"
        @Flag(help: "Address the bucket in the path (endpoint/bucket/key), as most self-hosted servers want.")
        var s3PathStyle = false

        func run() throws {
            try reporting {
                let root = root.resolved
                try ServerSetup.initialize(root)
                if let spool {
                    print(
                        try ServerSetup.configureSpool(
                            root, spool: spool, endpoint: s3Endpoint, region: s3Region, pathStyle: s3PathStyle))
                }
                print(ServerSetup.nextSteps(root, receivePack: ServerSetup.currentExecutable))
            }
        }
    }

    struct Shell: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract:
                "The SSH forced command: serve the git push, clone or command in $SSH_ORIGINAL_COMMAND for --user.",
            discussion:
                "Its environment is the SSH client's: it keeps only the command, and takes every setting from <root>/slipway.env."
        )
        @Option(
            help: ArgumentHelp(
                "The server's folder. (default: \(SlipwayRoot.defaultPath); $SLIPWAY_ROOT is not read here)",
                valueName: "dir"))
        var root: String?
        @Option(help: ArgumentHelp("The user the SSH key belongs to.", valueName: "user"))
        var user: String
        @Flag(help: .hidden)
        var serverEnvironment = false

        func run() throws {
            let root = SlipwayRoot(root ?? SlipwayRoot.defaultPath)
            try reporting { try ServerSettings.enter(root, origin: serverEnvironment ? .server : .sshClient) }
            let signals = SignalWatcher()
            let shell = GitShell(
                root: root, user: user, console: Console(.fileDescriptor(2), colors: false), signals: signals)
            let status = shell.run(originalCommandBytes: GitShell.originalCommandFromEnvironment())
            throw ExitCode(status)
        }
    }

    struct Hook: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Run a git hook of an app's repository (called by hooks/pre-receive and hooks/post-receive).")
        @Argument(help: "pre-receive or post-receive.")
        var name: String

        func validate() throws {
            guard ["pre-receive", "post-receive"].contains(name) else {
                throw ValidationError("Unknown hook '\(name)': use pre-receive or post-receive.")
            }
        }

        func run() throws {
            if let root = PushSettings.hookRoot(environment: ProcessInfo.processInfo.environment) {
                try reporting { try ServerSettings.enter(root, origin: .server) }
            }
            let signals = SignalWatcher()
            ChildProcess.adoptOrphans()
            ChildProcess.stopWithParent()
            ignoreBrokenPipes()
            let input = String(decoding: FileHandle.standardInput.readDataToEndOfFile(), as: UTF8.self)
            let hooks = ReceiveHooks(console: Console(.nonBlockingFileDescriptor(2)), signals: signals)
            throw ExitCode(name == "pre-receive" ? hooks.preReceive(input: input) : hooks.postReceive(input: input))
        }
    }
}
