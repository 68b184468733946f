import Crypto
import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `POST /hooks/<forge>` on the HTTP door: each forge's documented push payload and signature, computed here; the
/// commit is fetched from `git daemon` on loopback, and the commit statuses are received by a listener of the test.
@Suite(.serialized) struct WebhookTests {
    /// An upstream repository served by `git daemon`, a status listener, and an app set up for webhooks.
    final class Forge {
        let d: HTTPDoorTests.Door
        let work: String
        let daemon: TestProcess
        let listener: TestProcess
        let statusPort: UInt16
        let secret: String

        init(buildpack compile: String = "echo '-----> spy compiling'") throws {
            d = try HTTPDoorTests.Door()
            let h = d.h
            let bp = try h.buildpack(compile: compile)
            work = try h.makeApp("work", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
            let upstream = try h.scratch.makeDirectory("upstream")
            #expect(try git(["clone", "--bare", "-q", work, "\(upstream)/shop.git"], in: h.scratch.path).status == 0)
            #expect(try git(["remote", "add", "origin", "\(upstream)/shop.git"], in: work).status == 0)
            let gitPort = try freeLoopbackPort()
            daemon = try TestProcess(
                [
                    try tool("git"), "daemon", "--reuseaddr", "--export-all", "--listen=127.0.0.1", "--port=\(gitPort)",
                    "--base-path=\(upstream)", upstream,
                ], stdout: .file(h.scratch.url("daemon.log")), stderr: .file(h.scratch.url("daemon.err")))
            let statusPort = try freeLoopbackPort()
            self.statusPort = statusPort
            let script = try h.scratch.write("listener.py", Self.listenerScript)
            listener = try TestProcess(
                ["/usr/bin/python3", script, "\(statusPort)", h.scratch.url("statuses.jsonl")],
                stdout: .file(h.scratch.url("listener.log")), stderr: .file(h.scratch.url("listener.err")))
            guard waitUntil({ loopbackPortAcceptsConnections(gitPort) && loopbackPortAcceptsConnections(statusPort) })
            else { throw HarnessError("git daemon or the status listener did not start") }

            let created = try d.receivePack(["apps", "create", "shop", "--owner", "alice"])
            #expect(created.status == 0, "\(created.output)")
            let set = try d.receivePack([
                "apps:set", "shop", "source=git://127.0.0.1:\(gitPort)/shop.git#main", "status-token=s3cret-token",
                "forge-api=http://127.0.0.1:\(statusPort)",
            ])
            #expect(set.status == 0, "\(set.output)")
            let hook = try d.receivePack(["apps:webhook", "shop"])
            let line = hook.stdout.split(separator: "\n").first { $0.hasPrefix("Secret:") }
            secret = line.map { $0.dropFirst("Secret:".count).trimmingCharacters(in: .whitespaces) } ?? ""
            #expect(!secret.isEmpty, "\(hook.output)")
            #expect(hook.stdout.contains("/hooks/github?app=shop"))
        }

        deinit {
            daemon.terminate()
            listener.terminate()
        }

        /// Commits a change and pushes it upstream; returns the new commit.
        func upstreamCommit(_ file: String, _ contents: String, branch: String = "main") throws -> String {
            try commitFile(work, file, contents)
            #expect(try git(["push", "-q", "origin", "HEAD:\(branch)"], in: work).status == 0)
            return try git(["rev-parse", "HEAD"], in: work).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// POSTs `body` to `/hooks/<forge>?app=shop` with `headers`; returns the status code and the body.
        func deliver(_ forge: String, body: String, headers: [String: String], app: String = "shop") throws -> (
            code: String, text: String
        ) {
            let file = try d.h.scratch.write("payload-\(UInt32.random(in: 0...UInt32.max)).json", body)
            var arguments = [
                try tool("curl"), "-sS", "-w", "\n%{http_code}", "-X", "POST", "--data-binary", "@\(file)",
            ]
            arguments += ["-H", "Content-Type: application/json"]
            for (name, value) in headers { arguments += ["-H", "\(name): \(value)"] }
            let answer = try runTool(arguments + ["http://127.0.0.1:\(d.httpPort)/hooks/\(forge)?app=\(app)"])
            let lines = answer.stdout.split(separator: "\n", omittingEmptySubsequences: false)
            return (String(lines.last ?? ""), lines.dropLast().joined(separator: "\n"))
        }

        /// The requests the status listener received: method, path, headers (lower-cased), JSON body.
        var statuses: [[String: Any]] {
            let text = (try? String(contentsOfFile: d.h.scratch.url("statuses.jsonl"), encoding: .utf8)) ?? ""
            return text.split(separator: "\n").compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
            }
        }

        static func hmac(_ body: String, _ secret: String) -> String {
            HMAC<SHA256>.authenticationCode(for: Data(body.utf8), using: SymmetricKey(data: Data(secret.utf8)))
                .map { String(format: "%02x", $0) }.joined()
        }

        /// Delivers a signed push of `commit` to main under `delivery`, then waits until the server has logged the
        /// delivery's end (built or not); returns the door's answer.
        func deliverAndWait(_ body: String, delivery: String) throws -> (code: String, text: String) {
            let answer = try deliver(
                "github", body: body, headers: Forge.headers("github", body: body, secret: secret, delivery: delivery))
            if answer.text.contains("building") {
                #expect(waitUntil(seconds: 60) { d.h.log.contains("webhook \(delivery) for shop:") }, "\(d.h.log)")
            }
            return answer
        }

        /// A push payload as each forge documents it (the fields Slipway reads, and a few around them).
        static func payload(
            _ forge: String, branch: String, commit: String, webURL: String? = nil
        ) -> String {
            switch forge {
            case "gitlab":
                return """
                    {"object_kind":"push","event_name":"push","before":"\(String(repeating: "0", count: 40))",
                     "after":"\(commit)","ref":"refs/heads/\(branch)","checkout_sha":"\(commit)","user_username":"alice",
                     "project_id":15,"project":{"id":15,"name":"shop","web_url":"http://gitlab.example/alice/shop",
                     "path_with_namespace":"alice/shop","default_branch":"main"},"commits":[],"total_commits_count":1}
                    """
            default:
                return """
                    {"ref":"refs/heads/\(branch)","before":"\(String(repeating: "0", count: 40))","after":"\(commit)",
                     "repository":{"id":1296269,"name":"shop","full_name":"alice/shop",
                     "html_url":"\(webURL ?? "https://\(forge).example/alice/shop")","default_branch":"main"},
                     "pusher":{"name":"alice"},"sender":{"login":"alice"},"commits":[]}
                    """
            }
        }

        /// The headers of a delivery of `body`, signed with `secret`.
        static func headers(_ forge: String, body: String, secret: String, event: String? = nil, delivery: String)
            -> [String: String]
        {
            switch forge {
            case "github":
                return [
                    "X-GitHub-Event": event ?? "push", "X-GitHub-Delivery": delivery,
                    "X-Hub-Signature-256": "sha256=" + hmac(body, secret),
                ]
            case "gitlab":
                return [
                    "X-Gitlab-Event": event ?? "Push Hook", "X-Gitlab-Event-UUID": delivery, "X-Gitlab-Token": secret,
                ]
            default:
                return [
                    "X-Gitea-Event": event ?? "push", "X-Gitea-Delivery": delivery,
                    "X-Gitea-Signature": hmac(body, secret),
                ]
            }
        }

        /// Answers 201 to every POST and writes one JSON line per request.
        static let listenerScript = """
            import http.server, json, sys
            port, out = int(sys.argv[1]), sys.argv[2]
            class Handler(http.server.BaseHTTPRequestHandler):
                def do_POST(self):
                    body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                    record = {"method": "POST", "path": self.path,
                              "headers": {k.lower(): v for k, v in self.headers.items()},
                              "body": json.loads(body or b"{}")}
                    with open(out, "a") as f:
                        f.write(json.dumps(record) + "\\n")
                    self.send_response(201)
                    self.send_header("Content-Length", "2")
                    self.end_headers()
                    self.wfile.write(b"{}")
                def log_message(self, *args):
                    pass
            http.server.HTTPServer(("127.0.0.1", port), Handler).serve_forever()
            """
    }

    @Test func githubPushBuildsOnceAndReportsStatuses() throws {
        let f = try Forge()
        let h = f.d.h
        let commit = try f.upstreamCommit("hello", "v1\n")
        let body = Forge.payload("github", branch: "main", commit: commit)

        // A bad signature: 401, no build.
        var forged = Forge.headers("github", body: body, secret: "wrong", delivery: "d-0")
        let refused = try f.deliver("github", body: body, headers: forged)
        #expect(refused.code == "401", "\(refused)")
        forged["X-Hub-Signature-256"] = nil
        #expect(try f.deliver("github", body: body, headers: forged).code == "401")

        // Another event, another branch: 202 with the reason.
        let ping = try f.deliver(
            "github", body: body,
            headers: Forge.headers("github", body: body, secret: f.secret, event: "ping", delivery: "d-1"))
        #expect(ping.code == "202" && ping.text.contains("is not a push"), "\(ping)")
        let devBody = Forge.payload("github", branch: "dev", commit: commit)
        let dev = try f.deliver(
            "github", body: devBody, headers: Forge.headers("github", body: devBody, secret: f.secret, delivery: "d-2"))
        #expect(dev.code == "202" && dev.text.contains("a push to dev, not main"), "\(dev)")
        #expect(try h.spoolEntries().isEmpty, "nothing was built")

        // A push to main: built from the fetched commit, released, reported pending then success.
        let good = Forge.headers("github", body: body, secret: f.secret, delivery: "d-3")
        let accepted = try f.deliver("github", body: body, headers: good)
        #expect(accepted.code == "202" && accepted.text.contains("building \(commit)"), "\(accepted)\n\(h.log)")
        #expect(waitUntil(seconds: 60) { f.statuses.count >= 2 }, "\(f.statuses)\n\(h.log)")
        #expect(try h.serverRef("shop") == commit)
        #expect(try h.spoolEntries().map(\.manifest.version) == [1])
        let statuses = f.statuses
        #expect(
            statuses.map { $0["path"] as? String } == Array(repeating: "/repos/alice/shop/statuses/\(commit)", count: 2)
        )
        #expect(statuses.map { ($0["body"] as? [String: Any])?["state"] as? String } == ["pending", "success"])
        let last = statuses.last?["body"] as? [String: Any]
        #expect(last?["context"] as? String == "slipway/shop")
        #expect((last?["description"] as? String)?.contains("released v1") == true, "\(String(describing: last))")
        #expect((statuses.last?["headers"] as? [String: Any])?["authorization"] as? String == "Bearer s3cret-token")

        // The same delivery again: builds once.
        let again = try f.deliver("github", body: body, headers: good)
        #expect(again.code == "202" && again.text.contains("received before"), "\(again)")
        #expect(try h.spoolEntries().count == 1)
        let log = try f.d.receivePack(["builds", "shop"])
        #expect(log.stdout.contains(String(commit.prefix(7))), "\(log.output)")
    }

    @Test(arguments: ["gitlab", "gitea"]) func pushBuildsAndReportsInTheForgesShape(forge: String) throws {
        // A failing build: the status says failure (GitLab: failed), the branch does not move.
        let f = try Forge(buildpack: "echo 'ERROR: broken'; exit 3")
        let h = f.d.h
        let commit = try f.upstreamCommit("hello", "v1\n")
        let body = Forge.payload(forge, branch: "main", commit: commit)
        let bad = try f.deliver(
            forge, body: body, headers: Forge.headers(forge, body: body, secret: "nope", delivery: "x-1"))
        #expect(bad.code == "401", "\(bad)")
        let accepted = try f.deliver(
            forge, body: body, headers: Forge.headers(forge, body: body, secret: f.secret, delivery: "x-2"))
        #expect(accepted.code == "202", "\(accepted)\n\(h.log)")
        #expect(waitUntil(seconds: 60) { f.statuses.count >= 2 }, "\(f.statuses)\n\(h.log)")
        #expect(try h.serverRef("shop") == nil)
        let statuses = f.statuses
        let path =
            forge == "gitlab" ? "/api/v4/projects/15/statuses/\(commit)" : "/api/v1/repos/alice/shop/statuses/\(commit)"
        #expect(statuses.map { $0["path"] as? String } == [path, path])
        let states = statuses.map { ($0["body"] as? [String: Any])?["state"] as? String }
        #expect(states == ["pending", forge == "gitlab" ? "failed" : "failure"])
        let headers = statuses.last?["headers"] as? [String: Any]
        if forge == "gitlab" {
            #expect(headers?["private-token"] as? String == "s3cret-token")
            #expect((statuses.last?["body"] as? [String: Any])?["name"] as? String == "slipway/shop")
        } else {
            #expect(headers?["authorization"] as? String == "token s3cret-token")
            #expect((statuses.last?["body"] as? [String: Any])?["context"] as? String == "slipway/shop")
        }
    }

    /// A delivery replayed under a new delivery id, or another signed payload naming an old commit, used to redeploy
    /// that commit and roll the app back (issue 31): neither builds, the answer says why, and no status is set.
    @Test func aReplayedDeliveryNeverRollsTheAppBack() throws {
        let f = try Forge()
        let h = f.d.h
        let first = try f.upstreamCommit("hello", "v1\n")
        let firstBody = Forge.payload("github", branch: "main", commit: first)
        #expect(try f.deliverAndWait(firstBody, delivery: "r-1").code == "202")
        let second = try f.upstreamCommit("hello", "v2\n")
        let secondBody = Forge.payload("github", branch: "main", commit: second)
        #expect(try f.deliverAndWait(secondBody, delivery: "r-2").code == "202")
        #expect(try h.serverRef("shop") == second, "\(h.log)")
        #expect(try h.spoolEntries().map(\.manifest.version) == [1, 2])
        #expect(waitUntil { f.statuses.count == 4 }, "\(f.statuses)")

        // The first delivery's signed payload under a new id: recognised by its contents.
        let replay = try f.deliverAndWait(firstBody, delivery: "r-3")
        #expect(replay.code == "202" && replay.text.contains("was received before"), "\(replay)")
        // Another signed payload (as a forge's "before" field differs) naming the first commit, and one naming the
        // current one: both already deployed.
        for (commit, delivery) in [(first, "r-4"), (second, "r-5")] {
            let other = Forge.payload("github", branch: "main", commit: commit).replacingOccurrences(
                of: "\"pusher\"", with: "\"forced\":true,\"pusher\"")
            let answer = try f.deliverAndWait(other, delivery: delivery)
            #expect(
                answer.code == "202" && answer.text.contains("already deployed or older than the current release"),
                "\(answer)")
        }
        #expect(try h.serverRef("shop") == second)
        #expect(try h.spoolEntries().count == 2)
        #expect(f.statuses.count == 4, "no status for a delivery that built nothing: \(f.statuses)")
        let releases = try f.d.receivePack(["releases", "shop"])
        #expect(releases.stdout.contains("v2") && !releases.stdout.contains("v3"), "\(releases.output)")

        // A commit the source branch no longer holds (force-pushed away): fetched branch, nothing built, no status.
        let gone = try f.upstreamCommit("hello", "v3\n")
        #expect(try git(["push", "-q", "-f", "origin", "\(second):refs/heads/main"], in: f.work).status == 0)
        let goneBody = Forge.payload("github", branch: "main", commit: gone)
        let dropped = try f.deliverAndWait(goneBody, delivery: "r-6")
        #expect(dropped.code == "202", "\(dropped)")
        #expect(h.log.contains("nothing built: \(gone) is not on main of the source any more"), "\(h.log)")
        #expect(try h.serverRef("shop") == second)
        #expect(try h.spoolEntries().count == 2)
        #expect(f.statuses.count == 4, "\(f.statuses)")
    }

    /// A wrong signature, an app that does not exist and one that takes no webhooks get the same answer, so an
    /// outsider learns nothing of which apps exist (issue 31).
    @Test func outsidersCannotTellWhichAppsExistOrTakeWebhooks() throws {
        let f = try Forge()
        #expect(try f.d.receivePack(["apps", "create", "plain", "--owner", "alice"]).status == 0)
        let commit = try f.upstreamCommit("hello", "v1\n")
        let body = Forge.payload("github", branch: "main", commit: commit)
        let forged = Forge.headers("github", body: body, secret: "guess", delivery: "o-1")
        var answers: [String: (code: String, text: String)] = [:]
        for app in ["shop", "plain", "nosuchapp", "Not%20An%20App"] {
            answers[app] = try f.deliver("github", body: body, headers: forged, app: app)
        }
        let shop = answers["shop"]
        #expect(shop?.code == "401", "\(answers)")
        for (app, answer) in answers {
            #expect(
                answer.code == shop?.code && answer.text == shop?.text,
                "\(app): \(answer) vs \(String(describing: shop))")
        }
        #expect(try f.d.h.spoolEntries().isEmpty)
    }

    /// The status token goes to the API the operator configured (forge-api, or the default for the app's source
    /// URL), never to a server a delivery's URLs name: it used to follow the payload's `html_url` (issue 31).
    @Test func theStatusTokenGoesOnlyToTheConfiguredAPI() throws {
        let f = try Forge()
        let h = f.d.h
        // No forge-api: the default is derived from the source URL (git://127.0.0.1:…), not from the payload, whose
        // html_url names the test's listener.
        let reset = try f.d.receivePack(["apps:set", "shop", "forge-api="])
        #expect(reset.status == 0, "\(reset.output)")
        let commit = try f.upstreamCommit("hello", "v1\n")
        let body = Forge.payload(
            "github", branch: "main", commit: commit, webURL: "http://127.0.0.1:\(f.statusPort)/alice/shop")
        let answer = try f.deliverAndWait(body, delivery: "t-1")
        #expect(answer.code == "202" && answer.text.contains("building"), "\(answer)")
        #expect(try h.serverRef("shop") == commit, "\(h.log)")
        #expect(f.statuses.isEmpty, "the token reached the payload's server: \(f.statuses)")
        #expect(!h.log.contains("s3cret-token"))
    }
}
