import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner

#if canImport(Glibc)
    import Glibc
#endif

/// One scratch world for `slugrunner`: a root with a prepared spool, a tiny web app built into a slug with the real
/// `slugc` (procfile buildpack: bash and python3's http.server, nothing from PyPI), releases of it published into the
/// spool, and `slugrunner watch` processes that are always stopped.
final class RunnerHarness {
    let scratch: ScratchDirectory
    let root: String
    var spool: Spool { Spool(directory: "\(root)/spool") }
    /// The root's release key, as `receive-pack init` makes it: what signs the releases ``publish`` writes.
    let doorKey: DoorReleaseKey
    private var watchers: [TestProcess] = []

    /// `web.sh`: writes `$PAGE` to page.txt, records its process group in `$PID_FILE`, starts a child in its group
    /// (so that stopping one pid would not be enough), and serves the folder on `$PORT`.
    static let webScript = """
        #!/usr/bin/env bash
        set -euo pipefail
        printf '%s\\n' "${PAGE:-no page}" > page.txt
        if [ -n "${PID_FILE:-}" ]; then awk '{print $5}' "/proc/$$/stat" >> "$PID_FILE"; fi
        sleep 1000 &
        echo "web $DYNO starting on $PORT"
        exec python3 -u -m http.server "$PORT" --bind 0.0.0.0
        """

    init(_ label: String = "runner") throws {
        scratch = try ScratchDirectory(label)
        root = scratch.url("root")
        try Spool(directory: "\(root)/spool").prepare()
        doorKey = try DoorReleaseKey.loadOrCreate(RootLayout(root))
    }

    deinit {
        for watcher in watchers where watcher.isRunning {
            watcher.terminate(grace: 30)
        }
        // Should a watcher have died without stopping its processes, they must not outlive the test.
        for group in recordedGroups() where processGroupExists(group) { kill(-group, SIGKILL) }
    }

    // MARK: - Slugs and releases

    /// Builds the web app (plus `files`) with `slugc` and the procfile buildpack; returns the output folder.
    func buildSlug(_ name: String = "out", files: [String: String] = [:], procfile: String? = nil) throws -> String {
        let app = "app-\(name)"
        try scratch.write("\(app)/web.sh", Self.webScript, mode: 0o755)
        try scratch.write("\(app)/Procfile", procfile ?? "web: ./web.sh\n")
        for (path, contents) in files {
            try scratch.write("\(app)/\(path)", contents, mode: path.hasSuffix(".sh") ? 0o755 : 0o644)
        }
        try scratch.makeDirectory("tmp")
        let out = scratch.url(name)
        let env = [
            "PATH": ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin", "TMPDIR": scratch.url("tmp"),
            "HOME": scratch.url("tmp"), "SLIPWAY_BUILDPACKS": TestPaths.builtinBuildpacks,
        ]
        let result = try runTool(
            [
                TestPaths.product("slugc"), "build", scratch.url(app), "-o", out, "--cache-dir",
                scratch.url("cache-\(name)"),
                "-b", "procfile", "--app", "myapp",
            ],
            environment: env, mergeOutput: true)
        guard result.status == 0 else { throw HarnessError("slugc build failed: \(result.output)") }
        return out
    }

    /// Publishes the slug in `out` as release `version` of `app`, as the server does; `processTypes` are merged
    /// over the Procfile's, `config` becomes the release's config vars. Returns the entry's name.
    @discardableResult
    func publish(
        _ out: String, app: String = "myapp", version: Int, processTypes: [String: String] = [:],
        config: [String: String] = [:]
    ) throws -> String {
        var manifest = try ReleaseManifest.decode(try Data(contentsOf: URL(fileURLWithPath: "\(out)/release.json")))
        manifest.app = app
        manifest.version = version
        manifest.description = "Deploy v\(version)"
        manifest.user = "alice"
        manifest.processTypes.merge(processTypes) { _, new in new }
        manifest.configVars = config
        let name = Spool.entryName(app: app, version: version, date: Date().addingTimeInterval(Double(version) / 1000))
        _ = try spool.publish(
            name: name, manifest: try SignedRelease.seal(manifest, with: doorKey), slugPath: "\(out)/slug.tgz")
        return name
    }

    // MARK: - slugrunner

    /// `slugrunner <arguments> --root <root>`, to completion.
    @discardableResult
    func slugrunner(_ arguments: [String], timeout: TimeInterval = 60) throws -> ToolResult {
        try runTool([TestPaths.product("slugrunner")] + arguments + ["--root", root], timeout: timeout)
    }

    /// Starts `slugrunner watch` with short timeouts (overridable by `extra`); its stderr goes to `watch-N.log`.
    @discardableResult
    func startWatch(_ extra: [String] = []) throws -> TestProcess {
        let log = scratch.url("watch-\(watchers.count + 1).log")
        let watcher = try TestProcess(
            [
                TestPaths.product("slugrunner"), "watch", "--root", root, "--grace", "5", "--boot-timeout", "20",
                "--interval", "0.2",
            ] + (extra.contains("--router") ? [] : ["--router", "none"]) + extra,
            stdout: .file(log), stderr: .file(log))
        watchers.append(watcher)
        return watcher
    }

    /// Stops `watcher` with SIGTERM and returns its exit status (nil if it did not exit within 60 seconds).
    func stopWatch(_ watcher: TestProcess) -> Int32? {
        watcher.signal(SIGTERM)
        return watcher.wait(timeout: 60)
    }

    /// What the watchers printed.
    var watchOutput: String {
        (1...max(1, watchers.count)).map { (try? scratch.read("watch-\($0).log")) ?? "" }.joined()
    }

    /// `slugrunner ps <app> --json`, decoded.
    func ps(_ app: String = "myapp") throws -> AppStatus {
        let result = try slugrunner(["ps", app, "--json"])
        guard result.status == 0 else { throw HarnessError("ps failed: \(result.output)") }
        return try JSONDecoder().decode(AppStatus.self, from: Data(result.stdout.utf8))
    }

    /// The app's log file.
    func log(_ app: String = "myapp") -> String {
        (try? String(contentsOfFile: "\(root)/logs/\(app).log", encoding: .utf8)) ?? ""
    }

    /// Waits until `app` runs `version` with every web process up, and returns the status.
    func waitForRelease(_ version: Int, app: String = "myapp") -> AppStatus? {
        var last: AppStatus?
        let up = waitUntil(seconds: 60) {
            last = try? ps(app)  // fails until the watcher has taken the root
            guard let status = last, status.release?.version == version else { return false }
            let web = status.processes.filter { $0.type == "web" && $0.release == version }
            return !web.isEmpty && web.allSatisfy { $0.state == "up" }
        }
        return up ? last : nil
    }

    /// GETs `path` on 127.0.0.1:`port`; the body, or nil if nothing answered.
    func get(_ port: Int, _ path: String = "/page.txt", address: String = "127.0.0.1") throws -> String? {
        let result = try runTool(
            ["/usr/bin/curl", "-sf", "--max-time", "5", "http://\(address):\(port)\(path)"], timeout: 10)
        return result.status == 0 ? result.stdout : nil
    }

    /// GETs `path` from the dyno `process`, at its own address when it has a network of its own.
    func get(_ process: AppStatus.Process, _ path: String = "/page.txt") throws -> String? {
        try get(process.port, path, address: process.address ?? "127.0.0.1")
    }

    /// Every process group recorded in the apps' state files.
    func recordedGroups() -> [pid_t] {
        let apps = (try? FileManager.default.contentsOfDirectory(atPath: "\(root)/runner/apps")) ?? []
        return apps.flatMap { app -> [pid_t] in
            guard let data = try? Data(contentsOf: URL(fileURLWithPath: "\(root)/runner/apps/\(app)/state.json")),
                let status = try? JSONDecoder().decode(AppStatus.self, from: data)
            else { return [] }
            return status.processes.compactMap(\.pid)
        }
    }

    /// The process groups written to `PID_FILE` by web processes, in order.
    func recordedPids(_ file: String) -> [pid_t] {
        ((try? scratch.read(file)) ?? "").split(separator: "\n").compactMap { pid_t($0) }
    }
}

/// Whether any process (zombies included) is left in process group `pgid`.
func processGroupExists(_ pgid: pid_t) -> Bool {
    pgid > 1 && (kill(-pgid, 0) == 0 || errno == EPERM)
}
