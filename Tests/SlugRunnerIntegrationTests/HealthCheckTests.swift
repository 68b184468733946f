import Foundation
import SlipwaySpool
import SlipwayTestSupport
import SlugRunner
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// `apps:set myapp healthcheck=/up`: a new release goes live only when its web dynos answer there, and a serving dyno
/// that fails three checks in a row is restarted. The web process serves its folder, so `/up` answers 200 while the
/// file `up` is in the dyno's `/app`, and 404 without it.
@Suite(.serialized) struct HealthCheckTests {
    @Test func aReleaseGoesLiveOnlyWhenHealthyAndAFailingDynoIsRestarted() throws {
        let h = try RunnerHarness("health")
        try FileManager.default.createDirectory(atPath: "\(h.root)/apps/myapp", withIntermediateDirectories: true)
        try DynoSettings(healthcheck: "/up").save(to: RootLayout(h.root).dynoSettings("myapp"))
        let healthy = try h.buildSlug("healthy", files: ["up": "ok\n"])
        let sick = try h.buildSlug("sick")
        try h.publish(healthy, version: 1, config: ["PAGE": "v1"])
        let watcher = try h.startWatch(["--boot-timeout", "6", "--health-interval", "0.5"])
        let first = try #require(h.waitForRelease(1), "\(h.watchOutput)")
        let web = try #require(first.processes.first { $0.dyno == "web.1" })
        #expect(h.log().contains("slugrunner[web.1]: Health check GET /up answered 200"), "\(h.log())")

        // A release whose web never answers 2xx or 3xx at /up never goes live: v1 keeps serving.
        try h.publish(sick, version: 2, config: ["PAGE": "v2"])
        #expect(
            waitUntil(seconds: 60) { h.log().contains("v2 failed: web.1") }, "\(h.log())")
        #expect(h.log().contains("Health check GET /up answered 404; waiting"), "\(h.log())")
        #expect(h.log().contains("did not pass the health check GET /up"), "\(h.log())")
        #expect(try h.get(web) == "v1\n")
        #expect(try h.ps().release?.version == 1)

        // The serving dyno starts failing (its /app/up goes away): after three failed checks it is restarted, from
        // a fresh copy of its release, which passes again.
        // Its copy is on its disk, mounted in its own mount namespace: reached through its first process.
        let copies = try FileManager.default.contentsOfDirectory(atPath: "\(h.root)/runner/dynos/myapp")
        let copy = try #require(copies.first { $0.hasPrefix("web.1-") }, "\(copies)")
        let leader = try #require(try h.ps().processes.first { $0.dyno == "web.1" }?.pid)
        let inside = "/proc/\(leader)/root\(h.root)/runner/dynos/myapp/\(copy)/files/app/up"
        let path =
            FileManager.default.fileExists(atPath: inside)
            ? inside : "\(h.root)/runner/dynos/myapp/\(copy)/files/app/up"
        try FileManager.default.removeItem(atPath: path)
        #expect(
            waitUntil(seconds: 60) {
                h.log().contains("Restarting web.1 (failed its health check 3 times in a row)")
            }, "\(h.log())")
        #expect(h.log().contains("(3 of 3 failures in a row)"))
        #expect(
            waitUntil(seconds: 60) {
                let now = try? h.ps().processes.first { $0.dyno == "web.1" }
                return now?.state == "up" && now?.pid != web.pid
            }, "\(h.log())")
        #expect(h.stopWatch(watcher) == 0)
    }
}
