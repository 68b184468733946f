import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `receive-pack serve --http`: the real git client over smart HTTP on loopback, authenticated with API tokens.
@Suite(.serialized) struct HTTPDoorTests {
    /// A server with the HTTP door alone, and a token for `alice`.
    final class Door {
        let h: ServerHarness
        let httpPort: UInt16
        let scheme: String

        init(arguments: [String] = []) throws {
            scheme = arguments.contains("--tls-cert") ? "https" : "http"
            h = try ServerHarness("http", arguments: ["--http", "127.0.0.1:0", "--no-ssh"] + arguments)
            let line = h.output.split(separator: "\n").first { $0.contains("door listening on") }
            guard let port = line?.split(separator: ":").last.flatMap({ UInt16($0) }) else {
                throw HarnessError("no HTTP door: \(h.output)")
            }
            httpPort = port
        }

        /// `receive-pack tokens create <user>`: the token it printed.
        func token(_ user: String) throws -> String {
            let made = try runTool([TestPaths.product("receive-pack"), "tokens", "create", "--root", h.root, user])
            guard made.status == 0 else { throw HarnessError("tokens create failed: \(made.output)") }
            return made.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        }

        /// `receive-pack <arguments> --root <root>`, as the operator.
        func receivePack(_ arguments: [String]) throws -> ToolResult {
            try runTool([TestPaths.product("receive-pack")] + arguments + ["--root", h.root])
        }

        func url(_ app: String, token: String?) -> String {
            "\(scheme)://\(token.map { "x:\($0)@" } ?? "")127.0.0.1:\(httpPort)/\(app).git"
        }

        /// The client's environment: no prompt for credentials, no helper, no user config.
        var environment: [String: String] {
            var env = ProcessInfo.processInfo.environment
            env["GIT_TERMINAL_PROMPT"] = "0"
            env["GIT_ASKPASS"] = "/bin/false"
            env["GIT_CONFIG_NOSYSTEM"] = "1"
            env["GIT_CONFIG_GLOBAL"] = "/dev/null"
            return env
        }

        func push(_ repo: String, app: String, token: String?) throws -> ToolResult {
            try git(["push", url(app, token: token), "main"], in: repo, environment: environment, mergeOutput: true)
        }

        func startPush(_ repo: String, app: String, token: String) throws -> StreamingProcess {
            try StreamingProcess(
                [try tool("git"), "push", url(app, token: token), "main"], environment: environment, directory: repo)
        }
    }

    @Test func pushAndCloneWithATokenAndAFailedBuildRejectsThePush() throws {
        let d = try Door()
        let h = d.h
        let token = try d.token("alice")
        #expect(token.hasPrefix("slw_"))
        let good = try h.buildpack("good")
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(good)\n", "hello": "hi\n"])
        let first = try d.push(repo, app: "myapp", token: token)
        #expect(first.status == 0, "\(first.output)\n\(h.log)")
        #expect(first.output.contains("remote: -----> Building myapp ("), "\(first.output)")
        #expect(first.output.contains("remote: -----> Launching... done, v1"))
        #expect(!first.output.contains(h.root), "the pusher learns no server path")
        #expect(try h.spoolEntries().first?.manifest.user == "alice")
        let published = try h.serverRef("myapp")
        #expect(published != nil)

        // Clone over protocol v2 (git's default) and v0.
        for version in ["2", "0"] {
            let target = h.scratch.url("clone-v\(version)")
            let cloned = try git(
                ["-c", "protocol.version=\(version)", "clone", d.url("myapp", token: token), target],
                in: h.scratch.path,
                environment: d.environment, mergeOutput: true)
            #expect(cloned.status == 0, "\(cloned.output)")
            #expect((try? String(contentsOfFile: "\(target)/hello", encoding: .utf8)) == "hi\n")
        }

        // A failing build rejects the push and changes nothing.
        let bad = try h.buildpack("bad", compile: "echo 'ERROR: no such module'; exit 3")
        try h.commit(repo, ".buildpacks", "\(bad)\n")
        let rejected = try d.push(repo, app: "myapp", token: token)
        #expect(rejected.status != 0)
        #expect(
            rejected.output.contains("remote:  !     Push rejected, failed to compile Spy app."), "\(rejected.output)")
        #expect(rejected.output.contains("pre-receive hook declined"))
        #expect(try h.serverRef("myapp") == published)
        #expect(try h.spoolEntries().count == 1)

        // `tokens list` shows when the token was last used; the file holds only hashes, mode 0600.
        let listed = try runTool([TestPaths.product("receive-pack"), "tokens", "list", "--root", h.root])
        #expect(listed.stdout.contains("alice"), "\(listed.output)")
        #expect(!listed.stdout.contains("never"), "\(listed.output)")
        let stored = try String(contentsOfFile: "\(h.root)/tokens.json", encoding: .utf8)
        #expect(!stored.contains(token))
        var info = stat()
        #expect(stat("\(h.root)/tokens.json", &info) == 0 && info.st_mode & 0o777 == 0o600)
    }

    @Test func missingWrongRevokedAndDeniedAreRefused() throws {
        let d = try Door(arguments: [])
        let h = d.h
        let alice = try d.token("alice")
        let bob = try d.token("bob")
        let bp = try h.buildpack()
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        #expect(try d.push(repo, app: "myapp", token: alice).status == 0)
        let published = try h.serverRef("myapp")
        try h.commit(repo, "more", "x\n")

        let missing = try d.push(repo, app: "myapp", token: nil)
        #expect(missing.status != 0)
        let wrong = try d.push(repo, app: "myapp", token: "slw_" + String(repeating: "0", count: 40))
        #expect(wrong.status != 0)
        #expect(
            wrong.output.contains("Authentication failed") || wrong.output.contains("wrong or revoked"),
            "\(wrong.output)")

        // bob's token is good, but myapp is alice's: the same refusal as for an app that does not exist.
        let denied = try d.push(repo, app: "myapp", token: bob)
        #expect(denied.status != 0)
        #expect(denied.output.contains("slipway: bob has no access to myapp"), "\(denied.output)")
        let nothing = try git(
            ["clone", d.url("nosuchapp", token: bob), h.scratch.url("none")], in: h.scratch.path,
            environment: d.environment, mergeOutput: true)
        #expect(nothing.status != 0)
        #expect(nothing.output.contains("slipway: bob has no access to nosuchapp"), "\(nothing.output)")

        // A user makes their own token over SSH (`ssh git@host tokens:create`), and it works at once.
        var env = ProcessInfo.processInfo.environment
        env["SSH_ORIGINAL_COMMAND"] = "tokens:create"
        let own = try runTool(
            [TestPaths.product("receive-pack"), "shell", "--root", h.root, "--user", "alice"], environment: env)
        #expect(own.status == 0 && own.stderr.contains("It is shown once"), "\(own.output)")
        let ownToken = own.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        let cloned = try git(
            ["clone", d.url("myapp", token: ownToken), h.scratch.url("own")], in: h.scratch.path,
            environment: d.environment,
            mergeOutput: true)
        #expect(cloned.status == 0, "\(cloned.output)")

        // A revoked token stops working at once.
        let listed = try runTool([TestPaths.product("receive-pack"), "tokens", "list", "--root", h.root])
        let id = listed.stdout.split(separator: "\n").first { $0.contains("alice") }?.split(separator: " ").first
        let revoked = try runTool([
            TestPaths.product("receive-pack"), "tokens", "revoke", "--root", h.root, String(id ?? ""),
        ])
        #expect(revoked.status == 0, "\(revoked.output)")
        #expect(try d.push(repo, app: "myapp", token: alice).status != 0)
        #expect(try h.serverRef("myapp") == published, "no refused push moved the branch")
    }

    /// The HTTP status of `GET /myapp.git/info/refs` with `authorization` and `headers`, from `source` (a loopback
    /// address of this machine: 127.0.0.1, 127.0.0.2…).
    static func advertisementCode(
        _ d: Door, authorization: String, headers: [String] = [], source: String = "127.0.0.1"
    ) throws -> String {
        let url = "http://127.0.0.1:\(d.httpPort)/myapp.git/info/refs?service=git-upload-pack"
        var arguments = [
            try tool("curl"), "-s", "-o", "/dev/null", "-w", "%{http_code}", "--interface", source, "-H",
            "Authorization: \(authorization)",
        ]
        for header in headers { arguments += ["-H", header] }
        return try runTool(arguments + [url]).stdout
    }

    static func basic(_ password: String) -> String { "Basic " + Data("x:\(password)".utf8).base64EncodedString() }

    /// Wrong tokens are limited per address and per credential, but never lock out a valid token: ten wrong ones
    /// from 127.0.0.1 (the address everyone behind a proxy or on the machine shares) used to get alice's own token
    /// refused with 429 (issue 31). A forged `X-Forwarded-For` or `Forwarded` does not escape the limit.
    @Test func failedLoginsAreLimitedButNeverLockOutAValidToken() throws {
        let d = try Door()
        let h = d.h
        let alice = try d.token("alice")
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(try h.buildpack())\n"])
        var codes: [String] = []
        for attempt in 0..<11 {
            codes.append(try Self.advertisementCode(d, authorization: Self.basic("slw_wrong\(attempt)")))
        }
        #expect(codes.prefix(10).allSatisfy { $0 == "401" } && codes.last == "429", "\(codes)")

        // The valid token still pushes and clones from the same address.
        let pushed = try d.push(repo, app: "myapp", token: alice)
        #expect(pushed.status == 0, "\(pushed.output)\n\(h.log)")
        let cloned = try git(
            ["clone", d.url("myapp", token: alice), h.scratch.url("clone")], in: h.scratch.path,
            environment: d.environment, mergeOutput: true)
        #expect(cloned.status == 0, "\(cloned.output)")

        // Wrong tokens from that address are still refused, whatever address a header claims.
        let wrong = Self.basic("slw_other")
        #expect(try Self.advertisementCode(d, authorization: wrong) == "429")
        let forged = ["X-Forwarded-For: 198.51.100.7", "Forwarded: for=198.51.100.8"]
        for header in forged {
            #expect(try Self.advertisementCode(d, authorization: wrong, headers: [header]) == "429", "\(header)")
        }
        #expect(!h.log.contains("198.51.100."), "a header from an untrusted client is not logged as its address")

        // Another address: its own count. The same wrong token tried ten times is limited from anywhere.
        #expect(try Self.advertisementCode(d, authorization: Self.basic("slw_fresh"), source: "127.0.0.2") == "401")
        #expect(try Self.advertisementCode(d, authorization: Self.basic("slw_wrong0"), source: "127.0.0.2") == "401")
        let tried = Self.basic("slw_tried")
        var spread: [String] = []
        for index in 3..<14 {
            spread.append(try Self.advertisementCode(d, authorization: tried, source: "127.0.0.\(index)"))
        }
        #expect(spread.prefix(10).allSatisfy { $0 == "401" } && spread.last == "429", "\(spread)")
    }

    /// --trusted-proxy: only from the configured proxy is the client's address taken from `X-Forwarded-For` or
    /// `Forwarded`; it is that address that is limited and logged.
    @Test func forwardedAddressesAreTakenOnlyFromATrustedProxy() throws {
        let d = try Door(arguments: ["--trusted-proxy", "127.0.0.1", "--trusted-proxy", "10.0.0.0/8"])
        let h = d.h
        let alice = try d.token("alice")
        var codes: [String] = []
        for attempt in 0..<11 {
            codes.append(
                try Self.advertisementCode(
                    d, authorization: Self.basic("slw_wrong\(attempt)"),
                    headers: ["X-Forwarded-For: 203.0.113.7, 10.1.2.3"]))
        }
        #expect(codes.prefix(10).allSatisfy { $0 == "401" } && codes.last == "429", "\(codes)")
        #expect(h.log.contains("203.0.113.7"), "the client's address is logged: \(h.log)")
        // The same client through RFC 7239's header: still limited. Another client behind the proxy: not.
        let another = Self.basic("slw_another")
        let forwarded = "Forwarded: for=\"203.0.113.7:4711\";proto=https"
        #expect(try Self.advertisementCode(d, authorization: another, headers: [forwarded]) == "429")
        #expect(
            try Self.advertisementCode(d, authorization: another, headers: ["X-Forwarded-For: 203.0.113.8"]) == "401")
        // A client of a proxy that sets X-Forwarded-For cannot escape with a Forwarded header of its own making.
        let both = ["X-Forwarded-For: 203.0.113.7", "Forwarded: for=198.51.100.99"]
        #expect(try Self.advertisementCode(d, authorization: another, headers: both) == "429")
        // The proxy's own address and its other clients are not blocked, and a valid token always passes.
        #expect(try Self.advertisementCode(d, authorization: Self.basic("slw_x")) == "401")
        let valid = try Self.advertisementCode(
            d, authorization: Self.basic(alice), headers: ["X-Forwarded-For: 203.0.113.7"])
        #expect(!["401", "429"].contains(valid), "\(valid)")
        // From an address that is not a trusted proxy, the header is ignored.
        #expect(
            try Self.advertisementCode(
                d, authorization: another, headers: ["X-Forwarded-For: 203.0.113.9"], source: "127.0.0.2") == "401")
        #expect(!h.log.contains("203.0.113.9"), "\(h.log)")

        let bad = try runTool([
            TestPaths.product("receive-pack"), "serve", "--root", h.scratch.url("other"), "--http", "127.0.0.1:0",
            "--trusted-proxy", "proxy.example",
        ])
        #expect(bad.status != 0 && bad.stderr.contains("--trusted-proxy takes an IP address"), "\(bad.output)")
    }

    @Test func buildLinesAreLiveAndAHangUpCancelsTheBuild() throws {
        let d = try Door()
        let h = d.h
        let token = try d.token("alice")
        let marker = uniqueSleep()
        let gated = try h.buildpack(
            "gated",
            compile: """
                echo "-----> before the wait"
                for _ in $(seq 1 600); do [ -e "$2/gate" ] && break; sleep 0.1; done
                echo "-----> after the wait"
                """)
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(gated)\n"])
        let push = try d.startPush(repo, app: "myapp", token: token)
        #expect(push.waitFor("remote: -----> before the wait", timeout: 60), "\(push.text)\n\(h.log)")
        #expect(!push.text.contains("after the wait"))
        try h.openGate("myapp")
        #expect(push.wait() == 0, "\(push.text)")
        #expect(push.text.contains("remote: -----> after the wait"))

        // The client hangs up mid-build: the build is stopped and nothing is published.
        let slow = try h.buildpack("slow", compile: "echo '-----> waiting'; sleep \(marker)")
        try h.commit(repo, ".buildpacks", "\(slow)\n")
        let before = try h.serverRef("myapp")
        let hangUp = try d.startPush(repo, app: "myapp", token: token)
        #expect(hangUp.waitFor("-----> waiting", timeout: 60), "\(hangUp.text)")
        // As Ctrl-C does to the terminal's process group: git and its HTTP helper (which holds the connection) die.
        for pid in processes(matching: "127.0.0.1:\(d.httpPort)/myapp.git") { kill(pid, SIGKILL) }
        hangUp.send(SIGKILL)
        _ = hangUp.wait(timeout: 30)
        #expect(waitUntil { processes(matching: marker).isEmpty }, "the build was stopped")
        #expect(try h.serverRef("myapp") == before)
        #expect(try h.spoolEntries().count == 1)
    }

    /// --tls-cert and --tls-key: HTTPS with swift-nio-ssl, the certificate checked by git against its own CA file.
    @Test func httpsWithTheDoorsOwnCertificate() throws {
        let scratch = try ScratchDirectory("tls")
        let (cert, key) = (scratch.url("cert.pem"), scratch.url("key.pem"))
        let made = try runTool([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
            "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=127.0.0.1", "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        #expect(made.status == 0, "\(made.output)")
        let d = try Door(arguments: ["--tls-cert", cert, "--tls-key", key])
        #expect(d.h.output.contains("HTTPS door listening on"))
        let token = try d.token("alice")
        let repo = try d.h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(try d.h.buildpack())\n"])
        let pushed = try git(
            ["push", d.url("myapp", token: token), "main"], in: repo,
            environment: d.environment.merging(["GIT_SSL_CAINFO": cert]) { $1 },
            mergeOutput: true)
        #expect(pushed.status == 0, "\(pushed.output)\n\(d.h.log)")
        #expect(pushed.output.contains("remote: -----> Launching... done, v1"))
        // A client that does not trust the certificate stops before sending anything.
        let untrusted = try d.push(repo, app: "myapp", token: token)
        #expect(untrusted.status != 0)
        #expect(untrusted.output.contains("certificate"), "\(untrusted.output)")
    }

    /// --max-connections and --login-grace-time bound idle clients; SIGTERM cancels a push past --grace-period.
    @Test func limitsAndShutdown() throws {
        let d = try Door(arguments: ["--max-connections", "2", "--login-grace-time", "2", "--grace-period", "1"])
        let idle = try (0..<2).map { _ in try RawConnection(port: d.httpPort) }
        let third = try RawConnection(port: d.httpPort)
        #expect(third.closedWithin(seconds: 10))
        #expect(d.h.log.contains("connections are open (--max-connections)"), "\(d.h.log)")
        #expect(idle.allSatisfy { $0.closedWithin(seconds: 10) }, "the grace time closes idle connections")

        let token = try d.token("alice")
        let marker = uniqueSleep()
        let bp = try d.h.buildpack(compile: "echo '-----> waiting'; sleep \(marker)")
        let repo = try d.h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        let push = try d.startPush(repo, app: "myapp", token: token)
        #expect(push.waitFor("-----> waiting", timeout: 60), "\(push.text)")
        #expect(d.h.stop(SIGTERM, timeout: 60) == 0, "\(d.h.output)\n\(d.h.log)")
        #expect(d.h.output.contains("cancelled"), "\(d.h.output)")
        #expect(push.wait(timeout: 60) != 0)
        #expect(waitUntil { processes(matching: marker).isEmpty }, "the build was stopped")
        #expect(try d.h.spoolEntries().isEmpty)
    }

    /// A webhook needs no login: a delivery whose body never comes is cut off at --login-grace-time, not left to
    /// hold a connection slot until --idle-timeout (issue 31).
    @Test func aWebhookWhoseBodyNeverArrivesIsCutOffAtTheGraceTime() throws {
        let d = try Door(arguments: ["--login-grace-time", "2"])
        let silent = try RawConnection(port: d.httpPort)
        silent.send(
            "POST /hooks/github?app=shop HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + "Content-Length: 100\r\n\r\n")
        #expect(silent.closedWithin(seconds: 15), "\(d.h.log)")
        #expect(
            waitUntil { d.h.log.contains("webhook delivery cut off: its body did not arrive") }, "\(d.h.log)")
    }

    @Test func concurrentPushesBothSucceed() throws {
        let d = try Door()
        let h = d.h
        let token = try d.token("alice")
        let bp = try h.buildpack(compile: "sleep 1; echo '-----> built'")
        let repos = try ["one", "two"].map {
            try h.makeApp($0, files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n", "name": $0])
        }
        let pushes = try zip(repos, ["app-one", "app-two"]).map { try d.startPush($0, app: $1, token: token) }
        let statuses = pushes.map { $0.wait() }
        #expect(statuses == [0, 0], "\(pushes.map(\.text))")
        #expect(Set(try h.spoolEntries().map(\.manifest.app)) == ["app-one", "app-two"])
    }

    /// git's own errors reach an HTTP pusher as they reach an SSH one: paths relative to the repository, nothing of
    /// the server's folders. (A folder in the place of the ref's lock file is a lock error recovery leaves alone.)
    @Test func aLockErrorShowsTheHTTPPusherNoServerPath() throws {
        let d = try Door()
        let h = d.h
        let token = try d.token("alice")
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(try h.buildpack("good"))\n"])
        #expect(try d.push(repo, app: "myapp", token: token).status == 0)
        try FileManager.default.createDirectory(
            atPath: "\(h.root)/apps/myapp/repo.git/refs/heads/main.lock", withIntermediateDirectories: true)
        try commitFile(repo, "change", "two\n")
        let push = try d.push(repo, app: "myapp", token: token)
        #expect(push.status != 0)
        #expect(push.output.contains("Unable to create 'refs/heads/main.lock'"), "\(push.output)")
        #expect(!push.output.contains(h.root) && !push.output.contains("repo.git"), "\(push.output)")
    }
}
