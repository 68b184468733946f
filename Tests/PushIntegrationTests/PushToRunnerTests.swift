import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The whole path: `git push` over SSH, the build, the spool, and `slugrunner watch` serving the app.
@Suite(.serialized) struct PushToRunnerTests {
    /// What `slugrunner ps --json` says about one web process.
    struct Web {
        var version: Int
        var port: Int
        var pid: Int32
        /// Where it listens: its own address when it has a network of its own.
        var address: String
    }

    @Test func pushingThePythonExampleEndsInAnAppAnsweringHTTP() throws {
        let h = try PushHarness("push-runner")
        let repo = try h.makeApp(files: try Self.files(of: TestPaths.example("python-app")))
        let log = h.scratch.url("watch.log")
        let router = try freeLoopbackPort()
        let watcher = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", h.root, "--grace", "5", "--interval", "0.2",
                "--router", "127.0.0.1:\(router)",
            ],
            stdout: .file(log), stderr: .file(log))
        defer { watcher.terminate(grace: 30) }

        let first = try h.push(repo)
        #expect(first.status == 0, "\(first.output)")
        let v1 = try #require(try Self.web(h, version: 1), "\(Self.read(log))")
        #expect(try Self.get(v1) == "Hello from Slipway!\n")
        // Users reach it through the router, at its host name (curl resolves *.localhost to loopback).
        #expect(
            waitUntil(seconds: 30) {
                (try? runTool(["/usr/bin/curl", "-sf", "--max-time", "5", "http://myapp.localhost:\(router)/"]))?
                    .stdout == "Hello from Slipway!\n"
            }, "\(Self.read(log))")

        // Over the door: ps shows the dyno, run starts a one-off dyno of the release attached to the session (as
        // the app's own user), and its exit status is ssh's.
        let ps = try h.ssh("ps myapp", merge: false)
        #expect(ps.status == 0 && ps.stdout.contains("web.1: up "), "\(ps.output)")
        let oneOff = try h.ssh("run myapp -- 'echo dyno=$DYNO home=$HOME uid=$(id -u); exit 7'", merge: false)
        #expect(oneOff.status == 7, "\(oneOff.output)")
        #expect(oneOff.stdout.contains("dyno=run.1 home=/app uid=6"), "\(oneOff.output)")

        // A new commit is a new release: it replaces the first, whose whole process group goes.
        try h.commit(
            repo, "app.py",
            try String(contentsOfFile: "\(repo)/app.py", encoding: .utf8).replacingOccurrences(
                of: "Hello from", with: "Hello again from"))
        let second = try h.push(repo)
        #expect(second.status == 0, "\(second.output)")
        let v2 = try #require(try Self.web(h, version: 2), "\(Self.read(log))")
        #expect(try Self.get(v2) == "Hello again from Slipway!\n")
        #expect(waitUntil(seconds: 60) { kill(-v1.pid, 0) != 0 }, "v1's process group is gone")
        #expect(Self.read("\(h.root)/logs/myapp.log").contains("slugrunner[deploy]: Deployed v2, stopping v1"))

        // A config change is a release with the same slug and the new config: the page changes.
        let set = try h.ssh("config:set myapp 'GREETING=hi from the config'")
        #expect(set.status == 0 && set.output.contains("done, v3"), "\(set.output)")
        let v3 = try #require(try Self.web(h, version: 3), "\(Self.read(log))")
        #expect(try Self.get(v3) == "Hello again from Slipway!\nhi from the config\n")
        #expect(waitUntil(seconds: 60) { kill(-v2.pid, 0) != 0 }, "v2's process group is gone")

        // A rollback to v1 brings v1's page back (its slug, its config).
        let rollback = try h.ssh("rollback myapp v1")
        #expect(rollback.status == 0 && rollback.output.contains("v4"), "\(rollback.output)")
        let v4 = try #require(try Self.web(h, version: 4), "\(Self.read(log))")
        #expect(try Self.get(v4) == "Hello from Slipway!\n")
        #expect(waitUntil(seconds: 60) { kill(-v3.pid, 0) != 0 }, "v3's process group is gone")

        // The door serves the runner's log to the app's users.
        let logs = try h.ssh("logs myapp", merge: false)
        #expect(logs.status == 0, "\(logs.output)")
        #expect(logs.stdout.contains("app[web.1]:") && logs.stdout.contains("slugrunner[deploy]: Deployed v4"))

        watcher.signal(SIGTERM)
        #expect(watcher.wait(timeout: 60) == 0, "\(Self.read(log))")
        #expect(kill(-v4.pid, 0) != 0, "SIGTERM to the watcher stops the app")
    }

    /// Every file under `folder`, by relative path.
    static func files(of folder: String) throws -> [String: String] {
        var files: [String: String] = [:]
        let enumerator = FileManager.default.enumerator(atPath: folder)
        while let path = enumerator?.nextObject() as? String {
            var isDirectory: ObjCBool = false
            if FileManager.default.fileExists(atPath: "\(folder)/\(path)", isDirectory: &isDirectory),
                !isDirectory.boolValue
            {
                files[path] = try String(contentsOfFile: "\(folder)/\(path)", encoding: .utf8)
            }
        }
        return files
    }

    /// Waits (up to 3 minutes: the first build downloads gunicorn) until `version` serves with its web process up.
    static func web(_ h: PushHarness, version: Int) throws -> Web? {
        var found: Web?
        _ = waitUntil(seconds: 180) {
            let ps = try? runTool([TestPaths.product("slugrunner"), "ps", "myapp", "--json", "--root", h.root])
            guard let data = ps?.stdout.data(using: .utf8),
                let status = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                (status["release"] as? [String: Any])?["version"] as? Int == version,
                let web = (status["processes"] as? [[String: Any]])?.first(where: {
                    $0["dyno"] as? String == "web.1" && $0["release"] as? Int == version
                        && $0["state"] as? String == "up"
                }),
                let port = web["port"] as? Int, let pid = web["pid"] as? Int
            else { return false }
            found = Web(
                version: version, port: port, pid: Int32(pid), address: web["address"] as? String ?? "127.0.0.1")
            return true
        }
        return found
    }

    /// GETs `/` from the dyno, at its own address (it has a network of its own here, as root).
    static func get(_ web: Web) throws -> String? {
        let result = try runTool(
            ["/usr/bin/curl", "-sf", "--max-time", "5", "http://\(web.address):\(web.port)/"], timeout: 10)
        return result.status == 0 ? result.stdout : nil
    }

    static func read(_ path: String) -> String {
        (try? String(contentsOfFile: path, encoding: .utf8)) ?? "(nothing at \(path))"
    }
}
