import Foundation

/// What runs for one app, as the watcher writes it to `runner/apps/<app>/state.json` and `slugrunner ps --json`
/// prints it (with `watcher` and `uptime` filled in). JSON keys are snake_case.
public struct AppStatus: Codable, Equatable, Sendable {
    /// The release that serves.
    public struct Release: Codable, Equatable, Sendable {
        public var version: Int
        /// The spool entry it came from.
        public var entry: String
        public var description: String?
        public var createdAt: String

        enum CodingKeys: String, CodingKey {
            case version, entry, description
            case createdAt = "created_at"
        }
    }

    /// One process.
    public struct Process: Codable, Equatable, Sendable {
        /// `web.1`.
        public var dyno: String
        /// `web`.
        public var type: String
        /// `starting`, `up`, `crashed` (waiting to restart) or `stopping`.
        public var state: String
        /// `PORT` of the process.
        public var port: Int
        /// The process's pid, which is also its process group id; nil while it waits to restart.
        public var pid: Int32?
        /// The release it runs.
        public var release: Int
        /// When it started (ISO 8601, UTC).
        public var startedAt: String?
        /// Seconds since it started; filled in by `slugrunner ps`.
        public var uptime: Int?
        /// How many times it was restarted after a crash.
        public var restarts: Int
        /// Whether it keeps crashing soon after starting.
        public var crashLoop: Bool
        /// The command it runs.
        public var command: String
        /// The process's start time in clock ticks since boot (`/proc/<pid>/stat`), so that a later watcher can tell
        /// it from another process that reused the pid.
        public var startTicks: UInt64?

        enum CodingKeys: String, CodingKey {
            case dyno, type, state, port, pid, release, uptime, restarts, command
            case startedAt = "started_at"
            case crashLoop = "crash_loop"
            case startTicks = "start_ticks"
        }
    }

    /// The last deploy the watcher attempted.
    public struct Deploy: Codable, Equatable, Sendable {
        public var version: Int
        public var entry: String
        /// `deploying`, `succeeded`, `failed` or `rejected`.
        public var status: String
        /// Why it failed, or what it replaced.
        public var message: String
        /// When the status was set (ISO 8601, UTC).
        public var at: String
    }

    public var app: String
    /// Whether a watcher runs for the root; filled in by `slugrunner ps`.
    public var watcher: Bool?
    /// The watcher's pid when it wrote the file.
    public var watcherPid: Int32
    /// When the file was written.
    public var updatedAt: String
    /// The address the processes' ports are on (the watcher's `--host`).
    public var host: String?
    public var release: Release?
    /// Process type → count.
    public var formation: [String: Int]
    public var processes: [Process]
    public var lastDeploy: Deploy?

    enum CodingKeys: String, CodingKey {
        case app, watcher, release, formation, processes, host
        case watcherPid = "watcher_pid"
        case updatedAt = "updated_at"
        case lastDeploy = "last_deploy"
    }

    /// Reads `state.json`; nil when the watcher never wrote one.
    public static func load(from path: String) throws -> AppStatus? {
        guard let data = try Files.read(path) else { return nil }
        guard let status = try? JSONDecoder().decode(AppStatus.self, from: data) else {
            throw RunnerError(.system, "slugrunner: \(path) is not a state file; it is rewritten when the watcher runs")
        }
        return status
    }

    /// The status as JSON: sorted keys, snake_case, two-space indent and `"key": value` (Foundation's pretty
    /// printer writes `"key" : value`).
    public func json() throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return JSONLayout.indent(String(decoding: try encoder.encode(self), as: UTF8.self))
    }

    /// An ISO 8601 UTC time with seconds: `2026-01-02T03:04:05Z`.
    static func isoTime(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.string(from: date)
    }

    /// Parses ``isoTime(_:)``.
    static func parseTime(_ text: String) -> Date? {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        return formatter.date(from: text)
    }
}

/// Re-indents compact JSON: two spaces per level, `"key": value`, empty arrays and objects kept as `[]` and `{}`.
enum JSONLayout {
    static func indent(_ compact: String) -> String {
        var out = ""
        var depth = 0
        var inString = false
        var escaped = false
        let characters = Array(compact)
        var index = 0
        func newline() { out += "\n" + String(repeating: "  ", count: depth) }
        while index < characters.count {
            let character = characters[index]
            defer { index += 1 }
            if inString {
                out.append(character)
                if escaped {
                    escaped = false
                } else if character == "\\" {
                    escaped = true
                } else if character == "\"" {
                    inString = false
                }
                continue
            }
            switch character {
            case "\"":
                inString = true
                out.append(character)
            case "{", "[":
                let closing: Character = character == "{" ? "}" : "]"
                if index + 1 < characters.count && characters[index + 1] == closing {
                    out += "\(character)\(closing)"
                    index += 1
                } else {
                    out.append(character)
                    depth += 1
                    newline()
                }
            case "}", "]":
                depth -= 1
                newline()
                out.append(character)
            case ",":
                out.append(character)
                newline()
            case ":":
                out += ": "
            default:
                out.append(character)
            }
        }
        return out + "\n"
    }
}
