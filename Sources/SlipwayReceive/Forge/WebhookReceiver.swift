public import Foundation
import NIOHTTP1
public import SlipwayDoorRecords
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

    /// The answer to a delivery for an app that does not exist, one that takes no webhooks, and a bad signature:
    /// the same status and line for all three, so an outsider learns nothing of which apps exist.
    static let refusal = (
        status: "401 Unauthorized",
        line: "slipway: refused: no app takes this delivery; check the URL's app (?app=<app>) and the secret "
            + "(ssh <host> apps:webhook <app> shows both)"
    )

    /// Serves one delivery whose body is `body`; returns the exit status.
    public func run(body: [UInt8]) -> Int32 {
        console.redact(root.path)
        guard body.count <= Self.maximumBody else {
            return respond("413 Payload Too Large", "slipway: the payload is too large")
        }
        let query = environment["QUERY_STRING"] ?? ""
        let name = query.split(separator: "&").first { $0.hasPrefix("app=") }.map { String($0.dropFirst(4)) } ?? ""
        let found: (settings: AppSettings, source: SourceSettings, secret: String, url: String)? = {
            guard (try? AppName.validate(name)) != nil, let settings = try? AppRegistry(root: root).settings(name),
                let source = try? SourceSettings.load(root.app(name)), let secret = source.secret,
                let url = source.url
            else { return nil }
            return (settings, source, secret, url)
        }()
        guard let found else {
            // As much work as for a wrong signature, then the same answer.
            _ = try? forge.verify(headers: headers(), body: body, secret: TokenStore.randomHex(bytes: 32))
            return respond(Self.refusal.status, Self.refusal.line)
        }
        let (settings, source, secret, url) = found
        let app = root.app(name)
        let event: WebhookEvent
        do {
            event = try forge.verify(headers: headers(), body: body, secret: secret)
        } catch let error as DoorError where error.code == .badSignature {
            console.raw(error.message)
            return respond(Self.refusal.status, Self.refusal.line)
        } catch let error as DoorError where error.code == .malformedDelivery {
            return respond("400 Bad Request", error.message)
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
            guard try Deliveries(app: app).record(push.delivery, payload: body) else {
                return respond(
                    "202 Accepted", "slipway: ignored: delivery \(push.delivery) (or its payload) was received before",
                    status: 0)
            }
        } catch {
            return respond("500 Internal Server Error", "slipway: \(error)")
        }
        // A replayed delivery (under a new id, or another signed payload naming an old commit) must not roll the app
        // back: a commit the deploy branch already holds is never deployed again.
        if isDeployedOrOlder(push.commit, app: app) {
            return respond(
                "202 Accepted",
                "slipway: ignored: \(push.commit) is already deployed or older than the current release, nothing built",
                status: 0)
        }
        _ = respond("202 Accepted", "slipway: building \(push.commit) of \(name)", status: 0)
        detachFromResponse()
        let reporter = StatusReporter(forge: forge, source: source, push: push, app: name, console: console)
        let outcome = deploy(push, url: url, app: app, owner: settings.owner) {
            reporter.send(.pending, "Building \(String(push.commit.prefix(7))) on Slipway")
        }
        guard case .pushed(let status) = outcome else {
            if case .skipped(let reason) = outcome {
                console.raw("slipway: webhook \(push.delivery) for \(name): nothing built: \(reason)")
            }
            return 0
        }
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

    /// What a webhook deploy did: pushed to the deploy branch (git's status), or nothing, and why.
    enum Outcome {
        case pushed(Int32)
        case skipped(String)
    }

    /// Fetches the source branch into the app's repository, then, under the app's lock, pushes `push.commit` to the
    /// deploy branch, so the hooks build and release it; `starting` runs once the commit is known to be new and on
    /// the source branch. A commit the deploy branch already holds, or one the source branch no longer holds (a
    /// replay of a commit force-pushed away), is not deployed.
    private func deploy(
        _ push: WebhookEvent.Push, url: String, app: AppPaths, owner: String, starting: () -> Void
    ) -> Outcome {
        let door = GitDoor(root: root, user: owner, console: console, signals: signals, environment: environment)
        var skipped: String?
        do {
            let status = try door.serve(GitRequest(service: .receivePack, app: app.name), locking: true) {
                app, lock in
                var fetchEnv = gitEnvironment
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
                if isDeployedOrOlder(push.commit, app: app) {
                    skipped = "\(push.commit) is already deployed or older than the current release"
                    return 0
                }
                guard isAncestor(push.commit, of: "refs/slipway/source", app: app) else {
                    skipped = "\(push.commit) is not on \(push.branch) of the source any more"
                    return 0
                }
                starting()
                var env = door.gitEnvironment(app: app, lock: lock)
                env["GIT_CONFIG_NOSYSTEM"] = "1"
                return try door.runGit(
                    [
                        "--git-dir=\(app.repository)", "push", "--quiet", app.repository,
                        "+\(push.commit):refs/heads/\(deployBranch(app))",
                    ], app: app, environment: env, lock: lock, stdout: .direct)
            }
            return skipped.map(Outcome.skipped) ?? .pushed(status)
        } catch {
            console.raw("slipway: the webhook deploy of \(app.name) failed: \(error)")
            return .pushed(1)
        }
    }

    /// git's environment for the checks and the fetch: nothing of the door's but PATH and HOME.
    private var gitEnvironment: [String: String] {
        [
            "PATH": environment["PATH"] ?? "/usr/bin:/bin", "HOME": environment["HOME"] ?? root.path,
            "GIT_TERMINAL_PROMPT": "0", "GIT_CONFIG_NOSYSTEM": "1", "LANG": "C.UTF-8",
        ]
    }

    private func deployBranch(_ app: AppPaths) -> String {
        (try? AppRegistry(root: root).settings(app.name))?.deployBranch ?? "main"
    }

    /// Whether the app's deploy branch already holds `commit` (its head, or an ancestor of it).
    func isDeployedOrOlder(_ commit: String, app: AppPaths) -> Bool {
        let branch = "refs/heads/\(deployBranch(app))"
        return git(["show-ref", "--verify", "--quiet", branch], app: app) == 0
            && isAncestor(commit, of: branch, app: app)
    }

    /// `git merge-base --is-ancestor commit revision` (true for the same commit), after checking that the commit
    /// is there at all (so git says nothing when it is not).
    func isAncestor(_ commit: String, of revision: String, app: AppPaths) -> Bool {
        git(["cat-file", "-e", "\(commit)^{commit}"], app: app) == 0
            && git(["merge-base", "--is-ancestor", commit, revision], app: app) == 0
    }

    /// Runs a git command that prints nothing on stdout on the app's repository; its exit status (-1 if it could
    /// not run).
    private func git(_ arguments: [String], app: AppPaths) -> Int32 {
        let door = GitDoor(root: root, user: "webhook", console: console, signals: signals, environment: environment)
        let status = try? door.runGit(
            ["--git-dir=\(app.repository)"] + arguments, app: app, environment: gitEnvironment, lock: nil,
            stdout: .direct)
        return status ?? -1
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
