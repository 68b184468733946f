import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// A pushed app keeps its rows in its add-on (issue 24, "Done when"): its release phase makes a table, its web dyno,
/// in a network of its own, reads and writes rows, and the rows survive a new push, `ps:restart`, a restart of the
/// runner, a restart of the supervisor and a crash of the database that the supervisor recovers from.
@Suite(.serialized) struct AddonDynoTests {
    static let psql = "/usr/lib/postgresql/15/bin/psql"

    static let files: [String: String] = [
        "Procfile": "release: ./bin/release\nweb: python3 bin/web.py\n",
        "bin/release": """
        #!/bin/sh
        set -e
        if [ -n "$DATABASE_URL" ]; then
          \(psql) "$DATABASE_URL" -X -q -v ON_ERROR_STOP=1 -c 'CREATE TABLE IF NOT EXISTS notes (body text)'
        fi

        """,
        "bin/web.py": """
        import http.server, os, subprocess, urllib.parse

        def psql(sql, body=""):
            args = ["\(psql)", os.environ.get("DATABASE_URL", ""), "-X", "-A", "-t", "-q", "-v",
                    "ON_ERROR_STOP=1", "-v", "body=" + body]
            done = subprocess.run(args, input=sql, capture_output=True, text=True, timeout=30)
            return done.stdout if done.returncode == 0 else "error: " + done.stderr

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                url = urllib.parse.urlparse(self.path)
                if url.path == "/add":
                    text = psql("INSERT INTO notes VALUES (:'body');", url.query)
                else:
                    text = psql("SELECT body FROM notes ORDER BY body;")
                data = text.encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

        http.server.HTTPServer(("0.0.0.0", int(os.environ["PORT"])), Handler).serve_forever()

        """,
    ]

    @Test func rowsSurvivePushesRestartsAndCrashes() throws {
        let h = try PushHarness("addons-dyno")
        let servers = try AddonServers(h)
        defer { servers.stopAll() }
        try servers.startSupervisor()
        let log = h.scratch.url("watch.log")
        var watcher = try Self.startRunner(h, log: log)
        defer { watcher.terminate(grace: 30) }
        let repo = try h.deployedApp(Self.files)
        _ = try #require(try PushToRunnerTests.web(h, version: 1), "\(PushToRunnerTests.read(log))")

        let created = try h.ssh("addons:create myapp postgresql")
        #expect(created.status == 0 && created.output.contains("done, v2"), "\(created.output)")
        let v2 = try #require(try PushToRunnerTests.web(h, version: 2), "\(PushToRunnerTests.read(log))")
        #expect(try Self.get(v2, "/add?first") == "", "\(PushToRunnerTests.read(log))")
        #expect(try Self.get(v2, "/") == "first\n")

        // A new push: a new slug, the same database.
        try h.commit(repo, "README", "v3\n")
        #expect(try h.push(repo).status == 0)
        let v3 = try #require(try PushToRunnerTests.web(h, version: 3), "\(PushToRunnerTests.read(log))")
        #expect(try Self.get(v3, "/add?second") == "")
        #expect(try Self.get(v3, "/") == "first\nsecond\n")

        // ps:restart: a new process.
        #expect(try h.ssh("ps:restart myapp web").status == 0)
        let restarted = try #require(Self.newWeb(h, version: 3, not: v3.pid), "\(PushToRunnerTests.read(log))")
        #expect(Self.serves(restarted, "first\nsecond\n"), "\(PushToRunnerTests.read(log))")

        // A restart of the runner.
        watcher.terminate(grace: 30)
        watcher = try Self.startRunner(h, log: log)
        let again = try #require(Self.newWeb(h, version: 3, not: restarted.pid), "\(PushToRunnerTests.read(log))")
        #expect(Self.serves(again, "first\nsecond\n"), "\(PushToRunnerTests.read(log))")

        // The supervisor stops: the database keeps running; the next supervisor adopts it.
        let postmaster = try #require(servers.postmasterPID())
        #expect(servers.stopSupervisor() == 0)
        #expect(kill(postmaster, 0) == 0, "the database outlives its supervisor")
        try servers.startSupervisor()
        #expect(try Self.get(again, "/") == "first\nsecond\n")
        #expect(servers.postmasterPID() == postmaster, "adopted, not started again")

        // The database crashes: the supervisor starts it again, and the committed rows are there.
        kill(postmaster, SIGKILL)
        #expect(
            waitUntil(seconds: 60) { servers.postmasterPID().map { $0 != postmaster && kill($0, 0) == 0 } ?? false },
            "\(PushToRunnerTests.read(servers.log))")
        #expect(waitUntil(seconds: 60) { (try? Self.get(again, "/")) == "first\nsecond\n" })

        // A one-off dyno reaches it too.
        let oneOff = try h.ssh(
            "run myapp -- '\(Self.psql) \"$DATABASE_URL\" -X -A -t -c \"SELECT count(*) FROM notes\"'")
        #expect(oneOff.status == 0 && oneOff.output.contains("2"), "\(oneOff.output)")
    }

    static func startRunner(_ h: PushHarness, log: String) throws -> TestProcess {
        try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "5", "--interval", "0.2",
                "--router", "127.0.0.1:\(try freeLoopbackPort())",
            ],
            stdout: .file(log), stderr: .file(log))
    }

    /// The web dyno of `version` once it is a process other than `pid`.
    static func newWeb(_ h: PushHarness, version: Int, not pid: Int32) -> PushToRunnerTests.Web? {
        var found: PushToRunnerTests.Web?
        _ = waitUntil(seconds: 120) {
            guard let web = try? PushToRunnerTests.web(h, version: version), web.pid != pid else { return false }
            found = web
            return true
        }
        return found
    }

    /// Whether the dyno's `/` answers `rows` within a minute (a dyno just up may still be opening its first
    /// connection).
    static func serves(_ web: PushToRunnerTests.Web, _ rows: String) -> Bool {
        waitUntil(seconds: 60) { (try? get(web, "/")) == rows }
    }

    /// GETs `path` from the dyno at its own address.
    static func get(_ web: PushToRunnerTests.Web, _ path: String) throws -> String? {
        let result = try runTool(
            ["/usr/bin/curl", "-sf", "--max-time", "30", "http://\(web.address):\(web.port)\(path)"], timeout: 40)
        return result.status == 0 ? result.stdout : nil
    }
}
