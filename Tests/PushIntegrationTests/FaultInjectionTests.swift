import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// Pushes killed at random moments: the door (`receive-pack shell`), `git receive-pack`, a hook, or the buildpack
/// gets SIGKILL; and git is also killed inside its ref update, while it holds `refs/heads/main.lock`. After each
/// push, whatever was killed: the branch moved only if the release was published, the spool holds complete entries
/// only, the ledger is consistent, no git lock file is left, and the next push works (no stale lock).
/// `SLIPWAY_FAULT_PUSHES` sets the number of pushes (default 50); `SLIPWAY_FAULT_SEED` replays a run.
@Suite(.serialized) struct FaultInjectionTests {
    enum Victim: String, CaseIterable {
        case door, git, hook, buildpack
        /// git, held inside its ref transaction (``RefUpdateTrap``) and killed there.
        case refUpdate
    }

    @Test func killingAnyPartOfAPushKeepsEverythingConsistent() throws {
        // Besides the kills from outside, the push dies now and then in the narrow windows where a crash matters:
        // after git moved the branch but before the release, and between the ledger line and the spool entry.
        let h = try PushHarness(
            "faults",
            sessionEnvironment: ["SLIPWAY_FAILPOINTS": "after-staging:0.1,before-publish:0.15,after-ledger:0.15"])
        let marker = uniqueSleep().replacingOccurrences(of: "300.", with: "0.")  // a 0.x second sleep, findable
        let bp = try h.buildpack(compile: "echo '-----> compiling'\nsleep \(marker)\necho '-----> compiled'")
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        let pushes = Int(ProcessInfo.processInfo.environment["SLIPWAY_FAULT_PUSHES"] ?? "") ?? 50
        let seed =
            UInt64(ProcessInfo.processInfo.environment["SLIPWAY_FAULT_SEED"] ?? "") ?? UInt64.random(in: 1...999_999)
        var rng = SeededGenerator(seed: seed)
        var killed: [Victim: Int] = [:]
        var published = 0
        let repository = "\(h.root)/apps/myapp/repo.git"
        var trap: RefUpdateTrap?

        for index in 0..<pushes {
            try h.commit(repo, "change", "push \(index)\n")
            let sha = try git(["rev-parse", "HEAD"], in: repo).stdout.trimmingCharacters(in: .whitespacesAndNewlines)
            var env = ProcessInfo.processInfo.environment
            env.merge(h.gitEnvironment(as: "alice")) { _, new in new }
            let victim = Victim.allCases.randomElement(using: &rng)!
            if trap == nil, FileManager.default.fileExists(atPath: repository) {
                trap = try RefUpdateTrap(repository: repository, scratch: h.scratch)
            }
            if victim == .refUpdate { trap?.arm() }
            let push = try StreamingProcess(
                [which("git")!, "push", "-f", h.remote("myapp"), "main"], environment: env, directory: repo)
            if victim == .refUpdate, let trap {
                // Until git holds the ref's lock, or the push ended first (a failpoint).
                _ = waitUntil(seconds: 120) { trap.isSprung || !processIsAlive(push.pid) }
                if trap.isSprung, kill(.git, h: h, marker: marker) { killed[victim, default: 0] += 1 }
                trap.disarm()
            } else {
                usleep(UInt32.random(in: 0...1_200_000, using: &rng))
                if kill(victim, h: h, marker: marker) { killed[victim, default: 0] += 1 }
            }
            let status = push.wait(timeout: 120)
            #expect(waitUntil(seconds: 60) { pushProcesses(h).isEmpty }, "push \(index) (seed \(seed)) left processes")
            // What the next push (or config change, or the operator at boot) does first; it may itself have been
            // killed inside the door.
            let recovered = try h.receivePack(["recover"])
            #expect(recovered.status == 0, "\(recovered.output)")

            // The invariants.
            let context = "push \(index), \(victim) killed, seed \(seed): \(push.text)"
            #expect(!push.text.contains("cannot lock ref"), "no push fails on a lock a killed git left: \(context)")
            #expect(gitLockFiles(repository).isEmpty, "recovery left no git lock file: \(context)")
            let ledger = try ledgerEntries(h)
            #expect(
                ledger.map(\.version) == Array(1..<(ledger.count + 1)), "versions 1, 2, … without a gap: \(context)")
            let entries = try h.spoolEntries()
            #expect(entries.map(\.manifest.version) == ledger.map(\.version), "one spool entry per release: \(context)")
            for entry in entries {
                let slug = "\(h.root)/spool/new/\(entry.name)/slug.tgz"
                #expect(try Spool.sha256(ofFile: slug) == entry.manifest.slug.sha256, "a complete entry: \(context)")
            }
            let ref = try h.serverRef()
            #expect(ref == ledger.last?.sourceVersion, "the branch moved only with a release: \(context)")
            if status == 0 {
                #expect(ref == sha, "an accepted push moved the branch: \(context)")
            }
            if ref == sha { published += 1 }
        }

        // The next push works: no stale lock, no leftover that blocks it. (The failpoints still fire now and then, so
        // it may take a few tries, each of which must go through without waiting for a lock.)
        try h.commit(repo, "change", "final\n")
        var final = try h.push(repo, ["-f", "main"])
        for _ in 0..<8 where final.status != 0 {
            #expect(!final.output.contains("Waiting for"), "\(final.output)")
            final = try h.push(repo, ["-f", "main"])
        }
        #expect(final.status == 0, "\(final.output)")
        #expect(!final.output.contains("Waiting for"))
        #expect(h.spoolTemporaries().isEmpty, "recovery left nothing half-written in spool/tmp")
        print("fault injection: \(pushes) pushes, seed \(seed), killed \(killed), \(published) released")
        #expect(killed.values.reduce(0, +) >= pushes / 4, "the test killed something often enough: \(killed)")
    }

    /// Sends SIGKILL to the victim's process of this test's push, if it is running now.
    private func kill(_ victim: Victim, h: PushHarness, marker: String) -> Bool {
        let pids: [Int32]
        switch victim {
        case .door: pids = processes(matching: "receive-pack shell --root \(h.root) ")
        case .git, .refUpdate: pids = processes(matching: "git receive-pack \(h.root)/")
        case .hook:
            pids = processes(matching: "receive-pack hook ").filter {
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/cwd")) ?? "").hasPrefix(
                    h.root)
            }
        case .buildpack:
            // The whole process group of the buildpack (its sandbox included).
            pids = processes(matching: "sleep \(marker)").compactMap(processGroup).map { -$0 }
        }
        for pid in pids { Glibc.kill(pid, SIGKILL) }
        return !pids.isEmpty
    }

    /// git's lock files in the refs of `repository` and beside them.
    private func gitLockFiles(_ repository: String) -> [String] {
        let refs = FileManager.default.enumerator(atPath: "\(repository)/refs")?.compactMap { $0 as? String } ?? []
        return refs.filter { $0.hasSuffix(".lock") }
            + ["HEAD.lock", "packed-refs.lock", "config.lock"].filter {
                FileManager.default.fileExists(atPath: "\(repository)/\($0)")
            }
    }

    private func pushProcesses(_ h: PushHarness) -> [Int32] {
        processes(matching: "receive-pack shell --root \(h.root) ") + processes(matching: "git receive-pack \(h.root)/")
            + processes(matching: "receive-pack hook ").filter {
                ((try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/cwd")) ?? "").hasPrefix(
                    h.root)
            }
    }

    private func processGroup(_ pid: Int32) -> Int32? {
        guard let stat = try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8),
            let close = stat.lastIndex(of: ")")
        else { return nil }
        let fields = stat[stat.index(after: close)...].split(separator: " ")
        return fields.count > 2 ? Int32(fields[2]) : nil
    }

    private func ledgerEntries(_ h: PushHarness) throws -> [(version: Int, sourceVersion: String?)] {
        let path = "\(h.root)/apps/myapp/releases.jsonl"
        guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return [] }
        return try text.split(separator: "\n").map { line in
            let object = try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any] ?? [:]
            return ((object["version"] as? Int) ?? -1, object["source_version"] as? String)
        }
    }
}

/// A small deterministic random number generator (SplitMix64), so a failing run can be replayed from its seed.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64

    init(seed: UInt64) { state = seed }

    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
