public import Foundation

/// A one-off dyno asked of the runner (`run myapp -- rake db:migrate` at the door): sent as one JSON line over the
/// runner's control socket (`<root>/runner/control.sock`, ``RootLayout/controlSocket``), with the session's stdin,
/// stdout and stderr attached to it as `SCM_RIGHTS` descriptors. docs/spool.md, "What the door wants of the dynos",
/// is the contract.
///
/// ```json
/// {"app": "myapp", "command": "rake db:migrate", "detach": false, "user": "alice", "columns": 120, "lines": 40}
/// ```
///
/// The same socket stops a one-off dyno (`ps:stop myapp run.3`): `{"app": "myapp", "command": "", "detach": false,
/// "stop": "run.3"}`, answered with `{"dyno": "run.3"}` once it is being stopped, or an error.
public struct OneOffRequest: Codable, Equatable, Sendable {
    /// The app whose current release (and config vars) the dyno runs.
    public var app: String
    /// The command, run as a Procfile command is (`/bin/sh -c` inside the dyno's sandbox).
    public var command: String
    /// Whether the dyno's output goes to the app's log instead of the descriptors, and the runner answers at once
    /// with the dyno's name (it then closes the descriptors).
    public var detach: Bool
    /// Who asked (the SSH user, or `operator`), for the app's log.
    public var user: String?
    /// The terminal's size when the session has one, for `COLUMNS` and `LINES`.
    public var columns: Int?
    public var lines: Int?
    /// Set to stop the one-off dyno of this name (`run.3`) instead of starting one; `command` is then empty.
    public var stop: String?

    public init(
        app: String, command: String, detach: Bool = false, user: String? = nil, columns: Int? = nil, lines: Int? = nil,
        stop: String? = nil
    ) {
        self.stop = stop
        self.app = app
        self.command = command
        self.detach = detach
        self.user = user
        self.columns = columns
        self.lines = lines
    }

    /// The longest request line accepted (a command as long as the door accepts, with room for the JSON around it).
    public static let maximumLength = 256 * 1024
    /// The descriptors that come with a request: stdin, stdout, stderr.
    public static let descriptorCount = 3

    /// Whether `name` is a one-off dyno's name: `run.` and a number.
    public static func isOneOffName(_ name: String) -> Bool {
        DynoName(name)?.isOneOff ?? false
    }
}

/// One line of the runner's answer to a ``OneOffRequest``: first `{"dyno": "run.3"}` once the dyno started (or
/// `{"error": "…"}` if it could not), then, unless detached, `{"exit": 0}` or `{"signal": 9}` when it ended.
public enum OneOffReply: Equatable, Sendable {
    /// The dyno started under this name.
    case started(dyno: String)
    /// It exited with this status.
    case exited(Int32)
    /// A signal ended it.
    case signaled(Int32)
    /// It could not start (no release, a bad request, …): one line for the user.
    case failed(String)

    /// The status the door exits with: the code, 128 + the signal (as a shell reports it), or 1.
    public var exitCode: Int32? {
        switch self {
        case .started: nil
        case .exited(let code): code
        case .signaled(let signal): 128 + signal
        case .failed: 1
        }
    }
}

extension OneOffReply: Codable {
    private enum Keys: String, CodingKey {
        case dyno, exit, signal, error
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: Keys.self)
        if let dyno = try container.decodeIfPresent(String.self, forKey: .dyno) {
            self = .started(dyno: dyno)
        } else if let code = try container.decodeIfPresent(Int32.self, forKey: .exit) {
            self = .exited(code)
        } else if let signal = try container.decodeIfPresent(Int32.self, forKey: .signal) {
            self = .signaled(signal)
        } else if let message = try container.decodeIfPresent(String.self, forKey: .error) {
            self = .failed(message)
        } else {
            throw DecodingError.dataCorrupted(
                .init(codingPath: [], debugDescription: "a reply has one of dyno, exit, signal or error"))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: Keys.self)
        switch self {
        case .started(let dyno): try container.encode(dyno, forKey: .dyno)
        case .exited(let code): try container.encode(code, forKey: .exit)
        case .signaled(let signal): try container.encode(signal, forKey: .signal)
        case .failed(let message): try container.encode(message, forKey: .error)
        }
    }
}

/// The control socket's framing: each message is one line of compact JSON ending in `\n`.
public enum JSONLines {
    /// `value` as one line.
    public static func line<Value: Encodable>(_ value: Value) throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        var data = try encoder.encode(value)
        data.append(0x0a)
        return data
    }

    /// Collects bytes as they arrive and hands out complete lines.
    public struct Buffer: Sendable {
        private var pending = Data()
        /// The longest line accepted.
        public let limit: Int

        public init(limit: Int) { self.limit = limit }

        /// Adds `data`; returns the complete lines now there (without their `\n`). Throws when a line grows past
        /// ``limit``.
        public mutating func append(_ data: Data) throws(JSONLinesError) -> [Data] {
            pending.append(data)
            var lines: [Data] = []
            while let newline = pending.firstIndex(of: 0x0a) {
                lines.append(Data(pending[pending.startIndex..<newline]))
                pending = Data(pending[(newline + 1)...])
            }
            guard pending.count <= limit else { throw JSONLinesError.lineTooLong(limit: limit) }
            return lines
        }

        /// Whether part of a line is waiting for its end.
        public var hasPartialLine: Bool { !pending.isEmpty }
    }
}

/// A line longer than the framing accepts.
public enum JSONLinesError: Error, Equatable, Sendable, CustomStringConvertible {
    case lineTooLong(limit: Int)

    public var description: String {
        switch self {
        case .lineTooLong(let limit): "a line longer than \(limit) bytes"
        }
    }
}
