public import Foundation
public import SlipwayDoorRecords
import SlipwaySpool
public import SlipwaySystem

/// The HTTP door's side of one git request (`receive-pack http-backend`, run by the HTTP server for each
/// authenticated request): the same access check, app creation, lock, recovery and hooks as the SSH door
/// (``GitDoor``), then git's own `git http-backend` as a CGI program, with an environment built here.
///
/// It speaks CGI on stdout: a refusal is a `Status:` header and a `text/plain` body of one `slipway: …` line, which
/// git shows the pusher as a `remote:` line. The request's body (a pack) comes on stdin and goes to git as it is.
public struct HTTPBackend {
    public var root: SlipwayRoot
    public var user: String
    /// Human lines outside git's protocol (lock waits, recovery): stderr, the server's log.
    public var console: Console
    public var signals: SignalWatcher?
    /// The CGI variables the HTTP server set, and the server's settings.
    public var environment: [String: String]

    public init(
        root: SlipwayRoot, user: String, console: Console, signals: SignalWatcher?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.root = root
        self.user = user
        self.console = console
        self.signals = signals
        self.environment = environment
    }

    /// Serves the request described by the CGI variables; returns the exit status.
    public func run() -> Int32 {
        console.redact(root.path)
        do {
            let request = try HTTPGitRequest.parse(
                method: environment["REQUEST_METHOD"] ?? "", path: environment["PATH_INFO"] ?? "",
                query: environment["QUERY_STRING"] ?? "")
            // The advertisement of a push creates the app, so that git sees an (empty) repository; the lock is
            // taken by the exchange that changes it.
            let door = GitDoor(root: root, user: user, console: console, signals: signals, environment: environment)
            return try door.serve(request.git, locking: request.step == .exchange) { app, lock in
                try door.runGit(
                    ["http-backend"], app: app, environment: cgiEnvironment(request, app: app, door: door, lock: lock),
                    lock: lock, stdout: request.git.service == .receivePack ? .cgiThenPktLines : .direct)
            }
        } catch let error as DoorError {
            let status =
                switch error.code {
                case .noAccess, .notGitCommand: "404 Not Found"
                case _ where error.isFailure: "503 Service Unavailable"
                default: "403 Forbidden"
                }
            return refuse(status, error.lines.map { "slipway: \($0)" })
        } catch {
            return refuse("500 Internal Server Error", ["slipway: the request failed on the server: \(error)"])
        }
    }

    /// What `git http-backend` gets: the door's environment for git and the hooks, and the CGI variables it reads,
    /// rewritten to name the app's repository (never a path the client wrote).
    func cgiEnvironment(_ request: HTTPGitRequest, app: AppPaths, door: GitDoor, lock: AppLock?) -> [String: String] {
        var env = door.gitEnvironment(app: app, lock: lock)
        env["GIT_PROJECT_ROOT"] = app.directory
        env["PATH_INFO"] = request.repositoryPath
        env["GIT_HTTP_EXPORT_ALL"] = "1"
        env["REMOTE_USER"] = user
        env["REQUEST_METHOD"] = request.step == .advertisement ? "GET" : "POST"
        env["QUERY_STRING"] = request.step == .advertisement ? "service=\(request.git.service.rawValue)" : ""
        for key in ["CONTENT_TYPE", "CONTENT_LENGTH", "HTTP_CONTENT_ENCODING", "REMOTE_ADDR"] {
            if let value = environment[key], !value.isEmpty { env[key] = value }
        }
        // Protocol v2 is asked for with `Git-Protocol: version=2`; only that form of value is passed on.
        if let proto = environment["HTTP_GIT_PROTOCOL"],
            proto.allSatisfy({ $0.isLetter || $0.isNumber || "=:.-_".contains($0) })
        {
            env["GIT_PROTOCOL"] = proto
            env["HTTP_GIT_PROTOCOL"] = proto
        }
        return env
    }

    /// Writes a CGI refusal with `lines` as its text body; returns 1.
    private func refuse(_ status: String, _ lines: [String]) -> Int32 {
        let body = lines.joined(separator: "\n") + "\n"
        let response =
            "Status: \(status)\r\nContent-Type: text/plain; charset=utf-8\r\nCache-Control: no-cache\r\n\r\n\(body)"
        FileHandle.standardOutput.write(Data(response.utf8))
        for line in lines { console.raw(line) }
        return 1
    }
}
