import Foundation
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// What a killed git or hook leaves behind, and that it never leaves an app stuck: git's lock files, build folders,
/// and server paths in git's own errors.
@Suite struct StaleLockTests {
    /// SIGKILL while git holds `refs/heads/main.lock`: the lock file stays, and without recovery every later push fails
    /// with `cannot lock ref`. Recovery removes it, says so in the server's log, and the next push goes through.
    @Test func aGitKilledInsideItsRefUpdateIsFollowedByAPushThatSucceeds() throws {
        let h = try PushHarness("reflock")
        let repo = try h.deployedApp()
        let repository = "\(h.root)/apps/myapp/repo.git"
        let trap = try RefUpdateTrap(repository: repository, scratch: h.scratch)
        try h.commit(repo, "change", "one\n")
        let before = try h.serverRef()

        trap.arm()
        let push = try h.startPush(repo)
        #expect(waitUntil(seconds: 60) { trap.isSprung }, "git reached its ref update: \(push.text)")
        #expect(
            FileManager.default.fileExists(atPath: "\(repository)/refs/heads/main.lock"), "git holds the ref's lock")
        let gits = processes(matching: "git receive-pack \(repository)")
        #expect(!gits.isEmpty)
        for pid in gits { kill(pid, SIGKILL) }
        #expect(push.wait(timeout: 60) != 0, "the killed push failed: \(push.text)")
        #expect(try h.serverRef() == before, "the branch did not move")

        let next = try h.push(repo)
        #expect(next.status == 0, "\(next.output)")
        #expect(!next.output.contains("cannot lock ref"), "\(next.output)")
        #expect(try h.serverRef() != before)
        #expect(!FileManager.default.fileExists(atPath: "\(repository)/refs/heads/main.lock"))
        let log = (try? String(contentsOfFile: "\(h.root)/server.log", encoding: .utf8)) ?? ""
        #expect(
            log.contains("myapp: recovery removed git's stale lock files ") && log.contains("refs/heads/main.lock"),
            "\(log)")
    }

    /// A hook killed mid-build leaves its work folder; the operator's `recover` (at boot, say) removes it at once,
    /// without waiting for the next push.
    @Test func recoverAfterAKilledHookLeavesNoBuildFolder() throws {
        let h = try PushHarness("killedhook")
        let marker = uniqueSleep()
        let bp = try h.buildpack(compile: "echo '-----> compiling'\nsleep \(marker)")
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        let push = try h.startPush(repo)
        #expect(push.waitFor("compiling"), "\(push.text)")
        let hooks = processes(matching: "receive-pack hook pre-receive").filter {
            ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/cwd")) ?? "").hasPrefix(h.root)
        }
        #expect(!hooks.isEmpty)
        for pid in hooks { kill(pid, SIGKILL) }
        #expect(push.wait(timeout: 60) != 0)
        #expect(waitUntil(seconds: 30) { processes(matching: "sleep \(marker)").isEmpty }, "the build stopped")
        #expect(!buildFolders(h).isEmpty, "the killed hook left its build folder")

        let recovered = try h.receivePack(["recover"])
        #expect(recovered.status == 0, "\(recovered.output)")
        #expect(recovered.stdout.contains("removed 1 build folder(s) of killed pushes"), "\(recovered.output)")
        #expect(buildFolders(h).isEmpty)
    }

    /// git's errors name files by their absolute path; the pusher sees them relative to the repository, and nothing
    /// of the server's folders. (A folder in the place of the ref's lock file is a lock error recovery leaves alone:
    /// git never makes one.)
    @Test func aLockErrorShowsThePusherNoServerPath() throws {
        let h = try PushHarness("lockerror")
        let repo = try h.deployedApp()
        let repository = "\(h.root)/apps/myapp/repo.git"
        try FileManager.default.createDirectory(
            atPath: "\(repository)/refs/heads/main.lock", withIntermediateDirectories: true)
        try h.commit(repo, "change", "two\n")

        let push = try h.push(repo)
        #expect(push.status != 0)
        #expect(push.output.contains("cannot lock ref 'refs/heads/main'"), "\(push.output)")
        #expect(push.output.contains("'refs/heads/main'"))
        #expect(!push.output.contains(h.root), "\(push.output)")
        #expect(!push.output.contains("repo.git"), "\(push.output)")
    }

    /// In another git server's repository git runs without Slipway's lock: a fresh lock file may belong to a live git
    /// and is kept (the push fails as git says); one older than ten minutes is stale and removed.
    @Test func aPlainBareRepositoryKeepsAFreshLockAndRemovesAnOldOne() throws {
        let scratch = try ScratchDirectory("plainlock")
        let plain = try PlainRepository(scratch)
        #expect(try plain.push().status == 0)
        try commitFile(plain.work, "change", "three\n")
        let lock = "\(plain.bare)/refs/heads/main.lock"
        try "held\n".write(toFile: lock, atomically: true, encoding: .utf8)

        let refused = try plain.push()
        #expect(refused.status != 0, "\(refused.output)")
        #expect(refused.output.contains("main.lock"), "\(refused.output)")
        #expect(FileManager.default.fileExists(atPath: lock), "a fresh lock is kept")

        var old = [
            timespec(tv_sec: time(nil) - 11 * 60, tv_nsec: 0), timespec(tv_sec: time(nil) - 11 * 60, tv_nsec: 0),
        ]
        #expect(utimensat(AT_FDCWD, lock, &old, 0) == 0)
        let accepted = try plain.push()
        #expect(accepted.status == 0, "\(accepted.output)")
        #expect(!FileManager.default.fileExists(atPath: lock))
    }

    private func buildFolders(_ h: PushHarness) -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: "\(h.root)/tmp")) ?? []).filter {
            $0.hasPrefix("build-")
        }
    }
}
