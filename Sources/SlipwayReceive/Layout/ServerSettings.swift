import Foundation
public import SlipwayDoorRecords
import SlipwaySpool
public import SlipwaySystem

/// The operator's settings, `<root>/slipway.env`: one `NAME=value` per line, as Docker's `--env-file` (no quotes, no
/// `$` expansion; blank lines and lines starting with `#` are skipped).
///
/// ```
/// SLIPWAY_RUNTIME_STORE=https://runtimes.example.com/store
/// SLIPWAY_MAX_PUSH_MB=1024
/// ```
///
/// Every `receive-pack` reads it, so the settings are the same whichever door a push comes through. It is the only
/// place OpenSSH's forced command takes settings from: that process's environment is what sshd made of the client's
/// request, and with `AcceptEnv` (an operator's mistake, or `AcceptEnv *`) it holds whatever the client sent,
/// `SLIPWAY_SANDBOX=none` and `SLIPWAY_HOOKS=…` included. sshd's `SetEnv` cannot be told apart from that, so it
/// does not reach Slipway either.
public struct ServerSettings: Equatable, Sendable {
    /// The file's name in the root.
    public static let fileName = "slipway.env"

    /// The settings, by name.
    public var values: [String: String]

    public init(values: [String: String] = [:]) { self.values = values }

    /// The names the file may set: the settings the door passes to git, the hooks and the build
    /// (``ServerSetup/passedVariables``), those the door reads itself, and `PATH`.
    public static var names: Set<String> {
        Set(ServerSetup.passedVariables + doorVariables + ["PATH"])
    }

    /// Settings the door reads itself and does not pass on to builds (docs/configuration.md).
    static let doorVariables = [
        "SLIPWAY_ADDONS_HOST", "SLIPWAY_REDIS_CLI", "SLIPWAY_REDIS_SERVER", "SLIPWAY_POSTGRES_BIN", "SLIPWAY_HTTP_URL",
        "SLIPWAY_WEBHOOK_ATTEMPTS", "SLIPWAY_WEBHOOK_RETRY_SECONDS", "SLIPWAY_WEBHOOK_TIMEOUT_SECONDS",
        "SLIPWAY_WEBHOOK_ALLOW_PRIVATE",
    ]

    /// A line of the file that is not a setting.
    public struct Problem: Error, Equatable, Sendable, CustomStringConvertible {
        public var line: Int
        public var reason: String
        /// `slipway.env line 3: SLIPWAY_SANBOX is not a setting: …`, with no server path.
        public var description: String { "\(ServerSettings.fileName) line \(line): \(reason)" }
    }

    /// Parses the file's text.
    public static func parse(_ text: String) throws(Problem) -> ServerSettings {
        var values: [String: String] = [:]
        // "\r\n" is one Character in Swift: a file written on Windows splits at it too.
        let lines = text.split(omittingEmptySubsequences: false) { $0 == "\n" || $0 == "\r\n" }
        for (index, line) in lines.enumerated() {
            let trimmed = line.drop { $0 == " " || $0 == "\t" }
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let equals = trimmed.firstIndex(of: "=") else {
                throw Problem(line: index + 1, reason: "not NAME=value; write one setting per line, as NAME=value")
            }
            let name = String(trimmed[..<equals])
            guard names.contains(name) else {
                throw Problem(
                    line: index + 1,
                    reason: "\(TerminalText.printable(name)) is not a setting of Slipway's door; "
                        + "the settings are listed in docs/configuration.md")
            }
            guard values[name] == nil else {
                throw Problem(line: index + 1, reason: "\(name) is set twice; keep one of the lines")
            }
            let value = String(trimmed[trimmed.index(after: equals)...])
            guard !value.contains("\0") else {
                throw Problem(line: index + 1, reason: "\(name)'s value holds a NUL byte; write it as text")
            }
            values[name] = value
        }
        return ServerSettings(values: values)
    }

    /// The file in `root`, or no settings when there is none.
    public static func load(_ root: SlipwayRoot) throws -> ServerSettings {
        let path = "\(root.path)/\(fileName)"
        guard let data = FileManager.default.contents(atPath: path) else {
            guard FileManager.default.fileExists(atPath: path) else { return ServerSettings() }
            throw DoorError(.configuration, lines: "\(fileName) cannot be read: make it readable by the git user")
        }
        do {
            return try parse(String(decoding: data, as: UTF8.self))
        } catch {
            throw DoorError(.configuration, lines: error.description)
        }
    }

    /// The environment of a process the operator started (`receive-pack serve`, a management command, a hook): its
    /// own, with the file filling in what it does not set.
    public func filling(_ environment: [String: String]) -> [String: String] {
        environment.merging(values) { own, _ in own }
    }

    /// The environment of OpenSSH's forced command: none of what sshd passed on, except the command itself and the
    /// connection's addresses, which sshd sets; the account's name and home from the user database; a fixed `PATH`
    /// and `LANG`; then the file's settings.
    public func sshSession(inherited: [String: String], account: ProcessEnvironment.Account?) -> [String: String] {
        var env: [String: String] = [
            "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
            "LANG": "C.UTF-8",
        ]
        for name in ["SSH_ORIGINAL_COMMAND", "SSH_CONNECTION", "SSH_CLIENT"] {
            if let value = inherited[name] { env[name] = value }
        }
        if let account {
            env["USER"] = account.name
            env["LOGNAME"] = account.name
            env["HOME"] = account.home
        }
        return env.merging(values) { _, setting in setting }
    }
}

extension ServerSettings {
    /// Who chose the environment a `receive-pack` process started with.
    public enum Origin: Sendable {
        /// The operator, or Slipway's own server: it is kept, and the file fills in what it does not set.
        case server
        /// OpenSSH, from what an SSH client asked for: it is replaced (``sshSession(inherited:account:)``).
        case sshClient
    }

    /// Makes this process's environment the one its origin calls for, with the settings of `root`'s file. Call it
    /// first thing, before any thread starts. A broken file stops the process: the operator is told which line and
    /// why; an SSH client only that the server's settings need fixing (the operator finds the line in server.log).
    public static func enter(_ root: SlipwayRoot, origin: Origin) throws {
        let inherited = ProcessInfo.processInfo.environment
        let settings: ServerSettings
        do {
            settings = try load(root)
        } catch let error as DoorError where origin == .sshClient {
            ServerLog.note("the door refused a session: \(error.message)", root: root)
            throw DoorError(
                .configuration,
                lines: "the server's settings have a mistake; the operator finds it in server.log")
        }
        let environment =
            switch origin {
            case .server: settings.filling(inherited)
            case .sshClient: settings.sshSession(inherited: inherited, account: ProcessEnvironment.account())
            }
        guard environment != inherited else { return }
        do {
            try ProcessEnvironment.replace(with: environment)
        } catch {
            throw DoorError.storage(error)
        }
    }
}
