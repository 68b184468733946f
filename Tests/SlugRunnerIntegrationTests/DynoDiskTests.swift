import Foundation
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Every dyno on a disk of its own (needs root, bubblewrap and loop devices, as this project's machines have): a dyno
/// that writes without end fills its own disk, not the host's, and is stopped with a line in its app's log; the host
/// keeps the reserve its operator sets.
@Suite(
    .serialized,
    .enabled(
        if: geteuid() == 0 && FileManager.default.isExecutableFile(atPath: "/usr/bin/bwrap")
            && access("/dev/loop-control", W_OK) == 0,
        "needs root, bubblewrap and loop devices"))
struct DynoDiskTests {
    /// `write.sh`: writes into `/tmp` and then `/app` without end.
    static let writer = """
        #!/usr/bin/env bash
        echo "write $DYNO tmp and app on one disk: $([ "$(stat -f -c %i /tmp)" = "$(stat -f -c %i /app)" ] && echo yes)"
        dd if=/dev/zero of=/tmp/first bs=1M count=40 2>/dev/null
        dd if=/dev/zero of=/app/rest bs=1M 2>/dev/null
        echo "write $DYNO stopped writing"
        sleep 60
        """

    /// `fill.sh`: fills the dyno's disk at once (`fallocate`, so that a default-sized disk fills in a moment), the
    /// last megabytes written through `/tmp`.
    static let filler = """
        #!/usr/bin/env bash
        free=$(df -B1M --output=avail /app | tail -1)
        echo "fill $DYNO disk $(df -B1M --output=size /app | tail -1 | tr -d ' ') MB"
        fallocate -l "$((free - 4))M" /app/bulk
        dd if=/dev/zero of=/tmp/rest bs=1M 2>/dev/null || echo "fill $DYNO refused: the disk is full"
        sleep 30
        echo "fill $DYNO survived"
        """

    /// `fill-at-once.sh`: fills the dyno's disk in one `fallocate`, leaving it less than a megabyte.
    static let fillerAtOnce = """
        #!/usr/bin/env bash
        fallocate -l "$(($(df -B1 --output=avail /app | tail -1) - 512 * 1024))" /app/bulk
        echo "fill $DYNO left $(df -B1K --output=avail /app | tail -1 | tr -d ' ') KB"
        sleep 30
        """

    /// The image files of `app`'s dyno disks and what each takes of the host, in bytes.
    static func images(_ root: String, _ app: String) -> [Int64] {
        let folder = "\(root)/runner/dynos/\(app)"
        return ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).compactMap { id in
            var info = stat()
            return stat("\(folder)/\(id)/disk.img", &info) == 0 ? Int64(info.st_blocks) * 512 : nil
        }
    }

    @Test func aDynoWritingWithoutEndStopsAtItsDiskWhileOtherAppsKeepServing() throws {
        let h = try RunnerHarness("dyno-disk")
        let routerPort = try freeLoopbackPort()
        try h.publish(try h.buildSlug("alpha"), app: "alpha", version: 1, config: ["PAGE": "alpha"])
        let writerSlug = try h.buildSlug(
            "writer", files: ["write.sh": Self.writer, "fill.sh": Self.filler],
            procfile: "web: ./write.sh & exec ./web.sh\nrelease: ./fill.sh\n")
        let created = try runTool(
            [TestPaths.product("receive-pack"), "apps", "create", "--root", h.root, "writer", "--owner", "alice"])
        #expect(created.status == 0, "\(created.output)")
        try DynoSettings.update(RootLayout(h.root), app: "writer") { $0 = $0.resizingDisk("web", to: 128) }
        let watcher = try h.startWatch(["--router", "127.0.0.1:\(routerPort)"])
        defer { _ = h.stopWatch(watcher) }
        #expect(h.waitForRelease(1, app: "alpha") != nil, "\(h.watchOutput)")
        #expect(h.watchOutput.contains("a disk of its own per dyno"), "\(h.watchOutput)")

        // The release phase fills its disk (the default size) and is stopped: the release fails.
        try h.publish(writerSlug, app: "writer", version: 1, config: ["PAGE": "writer"])
        #expect(
            waitUntil(seconds: 60) { h.log("writer").contains("slugrunner[release.1]: Stopping process with SIGKILL") },
            "\(h.log("writer"))")
        var log = h.log("writer")
        let size = try #require(log.firstMatch(of: /fill release\.1 disk (\d+) MB/).flatMap { Int($0.1) }, "\(log)")
        #expect((DynoSettings.defaultDiskMB * 9 / 10...DynoSettings.defaultDiskMB).contains(size), "\(size) MB")
        // (Whether the script saw `No space left on device` before the runner stopped it is a race the runner may win:
        // the dyno-disk test checks the write error itself.)
        #expect(
            log.contains("slugrunner[release.1]: Disk quota exceeded: /app and /tmp hold all of the dyno's 2048 MB"),
            "\(log)")
        #expect(!log.contains("fill release.1 survived"), "\(log)")

        // Without a release phase, the web dyno (128 MB, ps:disk) writes without end; it is stopped at its disk,
        // whose image never takes more of the host than that, and restarts as a crash; alpha keeps serving.
        let webOnly = try h.buildSlug(
            "writer-web", files: ["write.sh": Self.writer, "fill.sh": Self.filler],
            procfile: "web: ./write.sh & exec ./web.sh\n")
        try h.publish(webOnly, app: "writer", version: 2, config: ["PAGE": "writer"])
        var largest: Int64 = 0
        var alphaAnswers: [String] = []
        #expect(
            waitUntil(seconds: 90) {
                largest = max(largest, Self.images(h.root, "writer").max() ?? 0)
                alphaAnswers.append(DynoNetworkTests.viaRouter(routerPort, "alpha") ?? "-")
                return h.log("writer").contains("slugrunner[web.1]: Disk quota exceeded")
            }, "\(h.log("writer"))")
        log = h.log("writer")
        #expect(log.contains("write web.1 tmp and app on one disk: yes"), "\(log)")
        #expect(
            log.contains("slugrunner[web.1]: Disk quota exceeded: /app and /tmp hold all of the dyno's 128 MB"),
            "\(log)")
        #expect(largest <= 130 << 20, "the image took \(largest >> 20) MB of the host's disk")
        #expect(Set(alphaAnswers) == ["alpha\n"], "\(alphaAnswers)")
        #expect(
            waitUntil(seconds: 60) { h.log("writer").components(separatedBy: "write web.1 tmp and app").count >= 3 },
            "it restarts with a fresh disk: \(h.log("writer"))")
        #expect(DynoNetworkTests.viaRouter(routerPort, "alpha") == "alpha\n")

        // A one-off dyno asked for at the door gets a disk of its own, and is stopped at its end the same way.
        let oneOff = try runTool(
            [TestPaths.product("receive-pack"), "run", "--root", h.root, "writer", "--", "./fill.sh"],
            timeout: 120)
        #expect(oneOff.status != 0, "\(oneOff.output)")
        #expect(oneOff.stdout.contains("fill run.1 disk "), "\(oneOff.output)")
        #expect(!oneOff.stdout.contains("fill run.1 survived"), "\(oneOff.output)")
        #expect(
            waitUntil(seconds: 10) { h.log("writer").contains("slugrunner[run.1]: Disk quota exceeded") },
            "\(h.log("writer"))")
    }

    @Test func theHostKeepsItsReserve() throws {
        let h = try RunnerHarness("dyno-disk-reserve")
        try h.publish(try h.buildSlug("alpha"), app: "alpha", version: 1, config: ["PAGE": "alpha"])
        let writerSlug = try h.buildSlug(
            "writer", files: ["write.sh": Self.writer], procfile: "web: ./write.sh & exec ./web.sh\n")
        try h.publish(writerSlug, app: "writer", version: 1, config: ["PAGE": "writer"])
        let free = try #require(LoopDisk.space(of: h.root)?.free)

        // The writer may take 1000 MB of the host's disk, less than its own disk's 2048: past that, it is the one
        // stopped (the margin leaves room for what other tests write meanwhile, so that alpha still starts).
        let reserve = Int(free >> 20) - 1000
        let watcher = try h.startWatch(["--disk-reserve", "\(reserve)"])
        #expect(h.waitForRelease(1, app: "alpha") != nil, "\(h.watchOutput)")
        #expect(
            waitUntil(seconds: 90) { h.log("writer").contains("slugrunner[web.1]: The server's disk is down to") },
            "\(h.log("writer"))")
        #expect(h.log("writer").contains("under the \(reserve) MB its operator keeps in reserve"), "\(h.log("writer"))")
        #expect(!h.log("alpha").contains("The server's disk"), "the dyno holding the most is the one stopped")
        let alpha = try #require(try h.ps("alpha").processes.first { $0.dyno == "web.1" })
        #expect(try h.get(alpha) == "alpha\n", "\(h.log("alpha"))")
        // While the stopped writer's disk is being removed, the host is still under its reserve for a moment: the
        // space that disk frees counts, and no other dyno is stopped for it.
        #expect(h.stopWatch(watcher) == 0)
        #expect(!h.log("alpha").contains("The server's disk"), "\(h.log("alpha"))")

        // Under the reserve, no dyno starts, and the app's log says why.
        let starved = try h.startWatch(["--disk-reserve", "\(Int(free >> 20) + 1_000_000)"])
        defer { _ = h.stopWatch(starved) }
        #expect(
            waitUntil(seconds: 60) { h.log("alpha").contains("no dyno starts until space is freed") },
            "\(h.log("alpha"))")
        #expect(!h.log("alpha").contains("/runner/"), "no server path: \(h.log("alpha"))")
    }

    /// A dyno that fills its whole disk between two looks of the runner is stopped for its disk; when what it holds
    /// is also what takes the host under its reserve, it is the only one stopped: the space it frees counts in that
    /// same look, so no other dyno is stopped for the reserve (the runner stopped alpha, which held 16 MB, in a full
    /// test run whose loaded machine let the writer of ``theHostKeepsItsReserve()`` fill its disk between two looks).
    @Test func aDynoThatFillsItsDiskAtOnceIsTheOnlyOneStoppedForTheReserve() throws {
        let h = try RunnerHarness("dyno-disk-full-reserve")
        try h.publish(try h.buildSlug("alpha"), app: "alpha", version: 1, config: ["PAGE": "alpha"])
        let free = try #require(LoopDisk.space(of: h.root)?.free)
        // The filler's 2048 MB take the host 1000 MB under the reserve; alpha's few MB do not.
        let reserve = Int(free >> 20) - 1000
        let watcher = try h.startWatch(["--disk-reserve", "\(reserve)"])
        defer { _ = h.stopWatch(watcher) }
        #expect(h.waitForRelease(1, app: "alpha") != nil, "\(h.watchOutput)")
        let fillerSlug = try h.buildSlug(
            "filler", files: ["fill-at-once.sh": Self.fillerAtOnce],
            procfile: "web: ./fill-at-once.sh & exec ./web.sh\n")
        try h.publish(fillerSlug, app: "filler", version: 1, config: ["PAGE": "filler"])
        #expect(
            waitUntil(seconds: 60) { h.log("filler").contains("slugrunner[web.1]: Disk quota exceeded") },
            "\(h.log("filler"))")
        #expect(!h.log("alpha").contains("The server's disk"), "\(h.log("alpha"))")
        let alpha = try #require(try h.ps("alpha").processes.first { $0.dyno == "web.1" })
        #expect(try h.get(alpha) == "alpha\n", "\(h.log("alpha"))")
    }

    @Test func preallocatedDisksTakeTheirWholeSizeAtOnceAndNeverTheReserve() throws {
        let h = try RunnerHarness("dyno-disk-preallocated")
        try DynoSettings.update(RootLayout(h.root), app: "writer") { $0 = $0.resizingDisk("web", to: 256) }
        let writerSlug = try h.buildSlug(
            "writer", files: ["write.sh": Self.writer], procfile: "web: ./write.sh & exec ./web.sh\n")
        try h.publish(writerSlug, app: "writer", version: 1, config: ["PAGE": "writer"])
        try h.publish(try h.buildSlug("alpha"), app: "alpha", version: 1, config: ["PAGE": "alpha"])
        let free = try #require(LoopDisk.space(of: h.root)?.free)

        // Room above the reserve for the writer's 256 MB disk, not for alpha's 2048 MB one (and for what other tests
        // write meanwhile).
        let reserve = Int(free >> 20) - 1200
        let watcher = try h.startWatch(["--dyno-disk", "preallocated", "--disk-reserve", "\(reserve)"])
        defer { _ = h.stopWatch(watcher) }
        var images: [Int64] = []
        #expect(
            waitUntil(seconds: 90) {
                images += Self.images(h.root, "writer")
                return h.log("writer").contains("slugrunner[web.1]: Disk quota exceeded")
            }, "\(h.log("writer"))")
        #expect(h.log("writer").contains("hold all of the dyno's 256 MB"), "\(h.log("writer"))")
        #expect(
            images.contains { $0 >= 255 << 20 } && images.allSatisfy { $0 <= 258 << 20 },
            "the image took its whole size at once, and no more: \(images.map { $0 >> 20 })")
        #expect(
            waitUntil(seconds: 30) { h.log("alpha").contains("would leave less than the \(reserve) MB") },
            "\(h.log("alpha"))")
    }

    /// `slugrunner dyno-disk`, a dyno's first step: the disk is mounted in the dyno's own mount namespace only (never
    /// the host's, where another sandbox starting at that moment could trip over it), belongs to the app's user,
    /// holds the release and a `/tmp`, stops writes at its size, and goes with the process.
    @Test func aDynosDiskIsMountedInItsOwnNamespaceOnlyAndGoesWithIt() throws {
        let scratch = try ScratchDirectory("dyno-disk-entry")
        _ = try scratch.write("release/hello.txt", "hello")
        let image = scratch.url("disk.img")
        let files = try scratch.makeDirectory("files")
        try LoopDisk.makeImage(image: image, bytes: 64 << 20)
        let empty = LoopDisk(image: image, mountPoint: files).allocatedBytes
        #expect(empty < 4 << 20, "an empty disk takes almost nothing: \(empty)")
        let script = """
            stat -c 'owner %u' \(files)
            cat \(files)/app/hello.txt; echo
            dd if=/dev/zero of=\(files)/tmp/fill bs=1M count=200 2>&1 | grep -o 'No space left on device'
            echo "mounted here $(grep -c ' \(files) ' /proc/self/mountinfo)"
            """
        let result = try runTool([
            LoopDisk.unshare, "--mount", "--propagation", "private", "--", TestPaths.product("slugrunner"), "dyno-disk",
            "--image", image, "--mount-point", files, "--release", scratch.url("release"), "--owner", "4321:4321", "--",
            "/bin/sh", "-c", script,
        ])
        #expect(result.status == 0, "\(result.output)")
        #expect(
            result.stdout == "owner 4321\nhello\nNo space left on device\nmounted here 1\n", "\(result.output)")
        let host = try String(contentsOfFile: "/proc/self/mountinfo", encoding: .utf8)
        #expect(!host.contains(files), "never mounted in the host's namespace")
        let used = LoopDisk(image: image, mountPoint: files).allocatedBytes
        #expect(used <= 66 << 20, "the host gave it no more than its size: \(used)")
        #expect(
            waitUntil(seconds: 10) { !((try? runTool(["/usr/sbin/losetup", "-a"]))?.stdout ?? image).contains(image) },
            "its loop device went with the process")

        // A release too large for the disk: one line that says what to do, and no command run.
        _ = try scratch.write("big/blob", String(repeating: "x", count: 80 << 20))
        let second = scratch.url("small.img")
        try LoopDisk.makeImage(image: second, bytes: 64 << 20)
        let full = try runTool([
            LoopDisk.unshare, "--mount", "--propagation", "private", "--", TestPaths.product("slugrunner"), "dyno-disk",
            "--image", second, "--mount-point", files, "--release", scratch.url("big"), "--", "/bin/echo", "ran",
        ])
        #expect(full.status == 1 && !full.stdout.contains("ran"), "\(full.output)")
        #expect(full.stderr.contains("the release does not fit on this dyno's"), "\(full.output)")
        #expect(full.stderr.contains("give the process type a larger one with ps:disk"), "\(full.output)")
    }
}
