import ArgumentParser
import Foundation
import SlipwayDoorRecords
import SlipwayReceive
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

extension ReceivePack {
    struct Tokens: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Maintain the API tokens of the HTTP door: the passwords for git push over HTTPS.",
            subcommands: [Create.self, List.self, Revoke.self])

        struct Create: ParsableCommand {
            static let configuration = CommandConfiguration(
                abstract: "Create a token for a user and print it (once: only its hash is kept).")
            @OptionGroup var root: RootOption
            @Argument(help: "The user.") var user: String

            func run() throws {
                try reporting {
                    let (secret, token) = try TokenStore(root: root.resolved).create(user: user)
                    FileHandle.standardError.write(Data("Created token \(token.id) for \(user).\n".utf8))
                    print(secret)
                }
            }
        }

        struct List: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "List the tokens: id, user, created, last used.")
            @OptionGroup var root: RootOption

            func run() throws {
                try reporting {
                    let tokens = try TokenStore(root: root.resolved).list()
                    if tokens.isEmpty {
                        print("No tokens.")
                    } else {
                        for line in ManagementCommands.tokenRows(tokens) { print(line) }
                    }
                }
            }
        }

        struct Revoke: ParsableCommand {
            static let configuration = CommandConfiguration(abstract: "Revoke a token: it stops working at once.")
            @OptionGroup var root: RootOption
            @Argument(help: "The token's id (tokens list).") var id: String

            func run() throws {
                try reporting {
                    try TokenStore(root: root.resolved).revoke(id: id)
                    print("Revoked token \(id).")
                }
            }
        }
    }

    struct HTTPBackendCommand: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "http-backend",
            abstract: "Serve one git request of the HTTP door as a CGI program (run by receive-pack serve --http).",
            shouldDisplay: false)
        @OptionGroup var root: RootOption
        @Option(help: ArgumentHelp("The user the request authenticated as.", valueName: "user"))
        var user: String

        func run() throws {
            let signals = SignalWatcher()
            let environment = ProcessInfo.processInfo.environment
            if let id = environment["SLIPWAY_TOKEN_ID"] { try? TokenStore(root: root.resolved).markUsed(id: id) }
            let backend = HTTPBackend(
                root: root.resolved, user: user, console: Console(.fileDescriptor(2), colors: false), signals: signals,
                environment: environment)
            throw ExitCode(backend.run())
        }
    }
}

extension ReceivePack {
    struct Webhook: ParsableCommand {
        static let configuration = CommandConfiguration(
            abstract: "Serve one forge webhook delivery as a CGI program (run by receive-pack serve --http).",
            shouldDisplay: false)
        @OptionGroup var root: RootOption
        @Argument(help: "github, gitlab or gitea.") var forge: String

        func run() throws {
            guard let forge = Forge(rawValue: forge) else {
                throw ValidationError("Unknown forge '\(forge)': use github, gitlab or gitea.")
            }
            let signals = SignalWatcher()
            ChildProcess.adoptOrphans()
            let body = FileHandle.standardInput.readData(ofLength: WebhookReceiver.maximumBody + 1)
            let receiver = WebhookReceiver(
                root: root.resolved, forge: forge, console: Console(.fileDescriptor(2), colors: false), signals: signals
            )
            throw ExitCode(receiver.run(body: Array(body)))
        }
    }
}
