import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Pushes of real size over `receive-pack serve`, and clients that stop half-way. The pack streams from the SSH
/// channel into git's stdin under flow control: the server holds at most a channel window of it, whatever the
/// push's size. How long a push takes against OpenSSH is `scripts/bench --only large-push`'s to say.
@Suite(.serialized) struct LargePushTests {
    @Test func pushesOf5And50MBStreamThroughWithTheServersMemoryFlat() throws {
        let h = try ServerHarness()
        let bp = try h.buildpack()
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        try writeRandomFile("\(repo)/assets.bin", bytes: 5 << 20)
        try commitAll(repo)
        let small = try h.push(repo, app: "big")
        #expect(small.status == 0, "\(small.output)\n\(h.log)")
        #expect(small.output.contains("remote: -----> Launching... done, v1"), "\(small.output)")
        let before = h.peakResidentKiB

        try writeRandomFile("\(repo)/vendor.bin", bytes: 50 << 20)
        try commitAll(repo)
        let large = try h.push(repo, app: "big")
        #expect(large.status == 0, "\(large.output)\n\(h.log)")
        #expect(large.output.contains("remote: -----> Launching... done, v2"), "\(large.output)")
        #expect(try h.spoolEntries().map(\.manifest.version) == [1, 2])
        // 50 MB went through; the server's peak grew by well under that (a channel window is 8 MiB).
        let growth = h.peakResidentKiB - before
        #expect(growth < 24 << 10, "the server's peak memory grew by \(growth) KiB for a 50 MB push")
    }

    /// A client that stops mid-push (suspended: it neither reads nor writes, as over a stalled TCP connection) is
    /// closed after `--idle-timeout`, and one that is killed at once; either way its session ends, and the app's
    /// lock and the connection slot (`--max-connections 1`) are free for the next push.
    @Test func aClientThatStopsOrDiesMidPushReleasesTheLockAndItsSlot() throws {
        let h = try ServerHarness(arguments: ["--idle-timeout", "2", "--max-connections", "1"])
        let bp = try h.buildpack()
        let repo = try h.makeApp("src", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        try writeRandomFile("\(repo)/vendor.bin", bytes: 50 << 20)
        try commitAll(repo)
        let other = try h.makeApp("other", files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])

        for (app, signal, logged) in [
            ("stopped", SIGSTOP, "nothing moved either way for 2s (--idle-timeout)"), ("killed", SIGKILL, ""),
        ] {
            let push = try h.startPush(repo, app: app)
            // The session holds the app's lock once git runs on the server: the pack is on its way.
            let git = "receive-pack \(h.root)/apps/\(app)/repo.git"
            #expect(waitUntil(seconds: 60) { !processes(matching: git).isEmpty }, "\(push.text)\n\(h.log)")
            let clients = sshClients(key: h.key("alice"))
            #expect(!clients.isEmpty, "the push's ssh client")
            for pid in clients { kill(pid, signal) }

            if !logged.isEmpty { #expect(waitUntil(seconds: 30) { h.log.contains(logged) }, "\(h.log)") }
            #expect(
                waitUntil(seconds: 30) { processes(matching: git).isEmpty },
                "the session ended")
            let next = try h.push(other, app: "\(app)-next")
            #expect(next.status == 0, "the connection slot is free: \(next.output)\n\(h.log)")
            let behind = try h.push(other, app: app)
            #expect(behind.status == 0, "the app's lock is free: \(behind.output)\n\(h.log)")
            #expect(!behind.output.contains("Waiting for"), "\(behind.output)")

            for pid in clients { kill(pid, SIGKILL) }
            #expect(push.wait(timeout: 60) != 0)
        }
        #expect(try h.spoolEntries().count == 4, "each push after a stopped one was built")
        #expect(h.server.isRunning)
    }
}

/// `bytes` of random data (incompressible, as a real app's images and archives are).
private func writeRandomFile(_ path: String, bytes: Int) throws {
    let source = try FileHandle(forReadingFrom: URL(fileURLWithPath: "/dev/urandom"))
    defer { try? source.close() }
    guard FileManager.default.createFile(atPath: path, contents: nil) else {
        throw CocoaError(.fileWriteUnknown, userInfo: [NSFilePathErrorKey: path])
    }
    let target = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
    defer { try? target.close() }
    var left = bytes
    while left > 0 {
        let chunk = try source.read(upToCount: min(left, 1 << 20)) ?? Data()
        try target.write(contentsOf: chunk)
        left -= chunk.count
    }
}

private func commitAll(_ repo: String) throws {
    try git(["add", "-A"], in: repo)
    try git(["commit", "-q", "-m", "more data"], in: repo)
}

/// The OpenSSH client processes using `key` (not the shell that git runs them through).
private func sshClients(key: SSHClientKey) -> [Int32] {
    processes(matching: key.privateKeyPath).filter {
        (try? String(contentsOfFile: "/proc/\($0)/comm", encoding: .utf8))?.hasPrefix("ssh") == true
    }
}
