public import Foundation
import NIOHTTP1
import SlipwayHTTP
import SlipwayObjectStore
import SlipwaySpool
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A forge's webhook delivery (`receive-pack webhook <forge>`, run by the HTTP door for `POST /hooks/<forge>?app=…`,
/// the request body on stdin, its headers as CGI variables).
///
/// It answers at once (401 for a bad signature, 202 with the reason for an event that does not deploy or a
/// redelivery, 202 `building` for a push to the app's branch) and closes the response, since forges wait only a few
/// seconds. Then it fetches the pushed commit into the app's repository and pushes it to the deploy branch there,
/// so the same hooks build and release it as for a `git push` (as the app's owner, under the app's lock); the build
/// log is `builds:output`. With a status token, the forge gets a commit status: pending, then success or failure with
/// the build id and a one-line summary.
public struct WebhookReceiver {
    public var root: SlipwayRoot
    public var forge: Forge
    public var console: Console
    public var signals: SignalWatcher?
    public var environment: [String: String]

    /// Bodies larger than this are refused (GitHub caps payloads at 25 MB; a push event is a few KiB).
    public static let maximumBody = 5 * 1024 * 1024

    public init(
        root: SlipwayRoot, forge: Forge, console: Console, signals: SignalWatcher?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        self.root = root
        self.forge = forge
        self.console = console
        self.signals = signals
        self.environment = environment
    }

    /// Serves one delivery whose body is `body`; returns the exit status.
    public func run(body: [UInt8]) -> Int32 {
        console.redact(root.path)
        let query = environment["QUERY_STRING"] ?? ""
        let name = query.split(separator: "&").first { $0.hasPrefix("app=") }.map { String($0.dropFirst(4)) } ?? ""
        guard (try? AppName.validate(name)) != nil, let settings = try? AppRegistry(root: root).settings(name) else {
            return respond(
                "404 Not Found",
                "slipway: no app '\(TerminalText.printable(name))': the URL is /hooks/\(forge.rawValue)?app=<app>")
        }
        let app = root.app(name)
        guard body.count <= Self.maximumBody else {
            return respond("413 Payload Too Large", "slipway: the payload is too large")
        }
        let source: SourceSettings
        do {
            source = try SourceSettings.load(app)
        } catch {
            return respond("500 Internal Server Error", "slipway: \(error)")
        }
        guard let secret = source.secret, let url = source.url else {
            return respond(
                "404 Not Found", "slipway: \(name) takes no webhooks: run apps:webhook and apps:set source=…")
        }
        let event: WebhookEvent
        do {
            event = try forge.verify(headers: headers(), body: body, secret: secret)
        } catch let error as DoorError where [.badSignature, .malformedDelivery].contains(error.code) {
            let status = error.code == .badSignature ? "401 Unauthorized" : "400 Bad Request"
            return respond(status, error.message)
        } catch {
            return respond("400 Bad Request", "slipway: \(error)")
        }
        guard case .push(let push) = event else {
            if case .ignored(let reason) = event {
                return respond("202 Accepted", "slipway: ignored: \(reason)", status: 0)
            }
            return 0
        }
        let branch = source.branch ?? "main"
        guard push.branch == branch else {
            return respond("202 Accepted", "slipway: ignored: a push to \(push.branch), not \(branch)", status: 0)
        }
        do {
            guard try Deliveries(app: app).record(push.delivery) else {
                return respond(
                    "202 Accepted", "slipway: ignored: delivery \(push.delivery) was received before", status: 0)
            }
        } catch {
            return respond("500 Internal Server Error", "slipway: \(error)")
        }
        _ = respond("202 Accepted", "slipway: building \(push.commit) of \(name)", status: 0)
        detachFromResponse()
        let reporter = StatusReporter(forge: forge, source: source, push: push, app: name, console: console)
        reporter.send(.pending, "Building \(String(push.commit.prefix(7))) on Slipway")
        let status = deploy(push, url: url, app: app, owner: settings.owner)
        let record = BuildRecord.all(app, root: root).filter { $0.commit == push.commit }.last
        let summary: String
        if let record, status == 0 {
            summary = "Build \(record.id) succeeded: released v\(record.release.map(String.init) ?? "?")"
        } else if let record {
            summary = "Build \(record.id) failed (\(record.result.rawValue)): builds:output \(name) \(record.id)"
        } else {
            summary = "The commit could not be fetched or built: see the server's log"
        }
        console.raw("slipway: webhook \(push.delivery) for \(name): \(summary)")
        reporter.send(status == 0 ? .success : .failure, summary)
        return status
    }

    /// Fetches `push.commit` into the app's repository, then pushes it to the deploy branch there, under the lock,
    /// so the hooks build and release it. Returns the push's status.
    private func deploy(_ push: WebhookEvent.Push, url: String, app: AppPaths, owner: String) -> Int32 {
        let door = GitDoor(root: root, user: owner, console: console, signals: signals, environment: environment)
        do {
            return try door.serve(GitRequest(service: .receivePack, app: app.name), locking: true) { app, lock in
                var fetchEnv = [
                    "PATH": environment["PATH"] ?? "/usr/bin:/bin", "HOME": environment["HOME"] ?? root.path,
                    "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LANG": "C.UTF-8",
                ]
                let key = "\(app.directory)/deploy_key"
                if FileManager.default.fileExists(atPath: key) {
                    fetchEnv["GIT_SSH_COMMAND"] =
                        "ssh -i \(key) -o IdentitiesOnly=yes -o BatchMode=yes -o StrictHostKeyChecking=accept-new "
                        + "-o UserKnownHostsFile=\(app.directory)/known_hosts"
                }
                let fetched = try door.runGit(
                    [
                        "--git-dir=\(app.repository)", "-c", "fetch.fsckObjects=true", "-c", "protocol.allow=never",
                        "-c", "protocol.https.allow=always", "-c", "protocol.http.allow=always",
                        "-c", "protocol.ssh.allow=always", "-c", "protocol.git.allow=always", "fetch", "--no-tags",
                        "--no-write-fetch-head", "--", url,
                        "+refs/heads/\(push.branch):refs/slipway/source",
                    ], app: app, environment: fetchEnv, lock: nil, stdout: .direct)
                guard fetched == 0 else {
                    console.raw(
                        "slipway: cannot fetch \(ManagementCommands.withoutCredentials(url)) (git exited \(fetched))")
                    return fetched
                }
                var env = door.gitEnvironment(app: app, lock: lock)
                env["GIT_CONFIG_NOSYSTEM"] = "1"
                let deployBranch = (try? AppRegistry(root: root).settings(app.name))?.deployBranch ?? "main"
                return try door.runGit(
                    [
                        "--git-dir=\(app.repository)", "push", "--quiet", app.repository,
                        "+\(push.commit):refs/heads/\(deployBranch)",
                    ], app: app, environment: env, lock: lock, stdout: .direct)
            }
        } catch {
            console.raw("slipway: the webhook deploy of \(app.name) failed: \(error)")
            return 1
        }
    }

    /// The delivery's headers, lower-cased, from the CGI variables the door set (`HTTP_X_GITHUB_EVENT` …).
    func headers() -> [String: String] {
        var headers: [String: String] = [:]
        for (key, value) in environment where key.hasPrefix("HTTP_") {
            headers[key.dropFirst(5).lowercased().replacingOccurrences(of: "_", with: "-")] = value
        }
        return headers
    }

    /// Writes a CGI response with one line of text; returns `status` (1 unless told).
    private func respond(_ httpStatus: String, _ line: String, status: Int32 = 1) -> Int32 {
        let response = "Status: \(httpStatus)\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n\(line)\n"
        FileHandle.standardOutput.write(Data(response.utf8))
        console.raw(line)
        return status
    }

    /// Ends the response (stdout becomes /dev/null): the door answers the forge while the build goes on.
    private func detachFromResponse() {
        let null = open("/dev/null", O_WRONLY | O_CLOEXEC)
        if null >= 0 {
            dup2(null, 1)
            close(null)
        }
    }
}

/// The delivery ids an app has seen (`<app>/webhook-deliveries`, the last 1000), so a redelivery builds once.
struct Deliveries {
    let app: AppPaths
    var path: String { "\(app.directory)/webhook-deliveries" }

    /// Records `id`; false if it was there already.
    func record(_ id: String) throws -> Bool {
        let id = String(id.filter { $0.isLetter || $0.isNumber || $0 == "-" }.prefix(100))
        return try StateFiles.withExclusiveLock("\(path).lock") {
            var lines = StateFiles.lines(of: try StateFiles.contents(of: path) ?? Data()).map {
                String(decoding: $0, as: UTF8.self)
            }
            if lines.contains(id) { return false }
            lines.append(id)
            try StateFiles.writeAtomically(Data((lines.suffix(1000).joined(separator: "\n") + "\n").utf8), to: path)
            return true
        }
    }
}

/// Sends commit statuses to the forge's API with async-http-client (the token only in a request header, never in a
/// log line or a process's arguments).
struct StatusReporter {
    var forge: Forge
    var source: SourceSettings
    var push: WebhookEvent.Push
    var app: String
    var console: Console

    func send(_ state: CommitStatus.State, _ description: String) {
        guard let token = source.statusToken,
            let api = source.api ?? CommitStatus.defaultAPI(forge: forge, webURL: push.webURL)
        else { return }
        let status = CommitStatus(state: state, description: description, context: "slipway/\(app)")
        let request = status.request(
            forge: forge, api: api, repository: push.repository, commit: push.commit, token: token)
        guard let scheme = URL(string: request.url)?.scheme?.lowercased(), scheme == "https" || scheme == "http" else {
            console.raw("slipway: the \(forge.rawValue) API address must be https:// or http://; no status was sent")
            return
        }
        do {
            let body = try JSONSerialization.data(withJSONObject: request.body, options: [.sortedKeys])
            var headers = request.headers
            headers.add(name: "Content-Type", value: "application/json")
            let code = try SharedHTTPClient.sendWaiting(
                .POST, request.url, headers: headers, body: body, timeout: .seconds(30)
            ).status
            if !(200..<300).contains(code) {
                console.raw("slipway: the \(forge.rawValue) commit status was not accepted (HTTP \(code))")
            }
        } catch {
            console.raw("slipway: cannot send the \(forge.rawValue) commit status: \(error)")
        }
    }
}
