import Foundation
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Each dyno's CPU shares by its size (root and the cgroup v1 cpu controller, as this project's machines have).
@Suite(
    .serialized,
    .enabled(
        if: geteuid() == 0 && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/cpu/cpu.shares")
            && FileManager.default.fileExists(atPath: "/sys/fs/cgroup/memory/memory.limit_in_bytes"),
        "needs root and the cgroup v1 cpu and memory controllers"))
struct CPUSharesTests {
    @Test func eachDynoHasSharesByItsSizeAndItsGroupGoesWithIt() throws {
        let h = try RunnerHarness("cpu-shares")
        // A name of its own: the groups are machine-wide, and other tests' runners make groups of their apps.
        let app = "shares-\(getpid())"
        guard case .legacy(let memory, let pids, let cpu?) = try #require(ControlGroup.current()) else {
            Issue.record("no cpu hierarchy found")
            return
        }
        let folder = "\(cpu)/slipway/\(app)"
        // The runner leaves each app's (empty) group; this app's name is the test's own, so its groups go after it.
        defer { for base in [memory, pids, cpu].compactMap({ $0 }) { rmdir("\(base)/slipway/\(app)") } }
        try h.publish(try h.buildSlug(procfile: "web: ./web.sh\nworker: exec sleep 1000\n"), app: app, version: 1)
        try DynoSettings.update(RootLayout(h.root), app: app) {
            $0 = $0.scaling("worker", to: 1).resizing("worker", to: 1024).resizing("web", to: 256)
        }
        let watcher = try h.startWatch()
        defer { _ = h.stopWatch(watcher) }
        #expect(
            waitUntil(seconds: 60) {
                (try? h.ps(app))?.processes.filter { $0.state == "up" }.map(\.dyno).sorted() == ["web.1", "worker.1"]
            }, "\(h.watchOutput)")
        func groups() -> [String] { (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? [] }
        func shares(_ dyno: String) -> [Int] {
            groups().filter { $0.hasPrefix("\(dyno)-") }.compactMap {
                (try? String(contentsOfFile: "\(folder)/\($0)/cpu.shares", encoding: .utf8))
                    .flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) }
            }
        }
        #expect(shares("web.1") == [512], "256 MB: half the default")
        #expect(shares("worker.1") == [2048], "1024 MB: twice the default")
        // The dyno's process is in it.
        let worker = try #require(try h.ps(app).processes.first { $0.dyno == "worker.1" }?.pid)
        let procs = groups().filter { $0.hasPrefix("worker.1-") }.compactMap {
            try? String(contentsOfFile: "\(folder)/\($0)/cgroup.procs", encoding: .utf8)
        }.joined()
        #expect(procs.split(separator: "\n").contains { $0 == "\(worker)" }, "\(procs)")

        #expect(try h.slugrunner(["scale", app, "worker=0"]).status == 0)
        #expect(waitUntil(seconds: 60) { shares("worker.1").isEmpty }, "the group goes with the dyno")
        #expect(shares("web.1") == [512])
    }
}
