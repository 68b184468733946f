import Foundation
public import SlipwayDoorRecords
import SlipwayGit
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// Finishes or undoes what a killed push left half-done for one app, so that a release exists exactly when git
/// moved the branch. Run under the app's lock, by every push before it builds, after git exits in the door, and by
/// every command that changes releases.
///
/// - A spool entry complete in `spool/tmp/` whose version the ledger records (killed between the ledger line and the
///   rename) is published; one the ledger does not record (killed before the line) is discarded.
/// - A staged build (`<app>/staged/<commit>.json`, written by pre-receive) whose commit the deploy branch now points
///   at was accepted by git but not released (post-receive was killed): it is released now, once (the ledger
///   remembers its build id). A staged build whose commit git did not take is discarded once it is ten minutes old.
/// - Lock files a killed git left in the repository (``StaleGitLocks``) are removed, and the removal is noted in
///   the server's log (``ServerLog``).
public enum ReleaseRecovery {
    /// What recovery did, for the caller to report.
    public struct Outcome: Sendable, Equatable {
        /// Releases made for builds git had accepted.
        public var released: [Int] = []
        /// Spool entries published that the ledger already recorded.
        public var republished: [Int] = []
        /// Half-written spool entries and staged builds removed.
        public var discarded = 0
        /// Lock files a killed git left, removed (relative to the repository).
        public var gitLocks: [String] = []

        public init() {}
    }

    /// Recovers `app`; `repository` says which repository's git locks to clean (``StaleGitLocks/Scope``).
    @discardableResult
    public static func recover(app: AppPaths, root: SlipwayRoot, repository: StaleGitLocks.Scope = .own) throws
        -> Outcome
    {
        var outcome = Outcome()
        // 0. git's lock files. Before anything reads the branch, so that what follows sees git's state as it is.
        switch repository {
        case .own: outcome.gitLocks = StaleGitLocks.remove(in: app.repository)
        case .foreign(let path): outcome.gitLocks = StaleGitLocks.remove(in: path, olderThan: StaleGitLocks.foreignAge)
        }
        if !outcome.gitLocks.isEmpty {
            ServerLog.note(
                "\(app.name): recovery removed git's stale lock files \(outcome.gitLocks.joined(separator: ", ")) "
                    + "(left by a killed git)", root: root)
        }
        let ledger = ReleaseLedger(path: app.ledger)
        let target = try SpoolTarget.load(root)

        // 1. Spool entries of this app left in tmp/, when the door publishes there. With a bucket it never does, and
        //    tmp/ is the bucket feed's of a runner on the same root, downloading a release (taking that half-written
        //    entry for a killed push's published it without its release.json, and the runner refused it).
        let recorded = Set(try ledger.entries().map(\.version))
        let spool = Spool(directory: root.spoolDirectory)
        try spool.prepare()
        for name in target == .folder ? try spool.temporaryEntries() : [] {
            guard let version = version(of: name, app: app.name) else { continue }
            if recorded.contains(version), try !spool.isPublished(name) {
                try spool.commit(prepared: name)
                outcome.republished.append(version)
            } else {
                try spool.discard(prepared: name)
                outcome.discarded += 1
            }
        }

        // 1b. The same in a bucket: manifests left in the outbox, slugs no release refers to.
        if case .bucket(let location) = target {
            let entries = try ledger.entries()
            // Slugs of builds staged for release (step 2 below) are kept too, so they are not uploaded twice.
            let stagedFolder = "\(app.directory)/staged"
            let staged = ((try? FileManager.default.contentsOfDirectory(atPath: stagedFolder)) ?? []).compactMap {
                FileManager.default.contents(atPath: "\(stagedFolder)/\($0)").flatMap {
                    try? JSONDecoder().decode(StagedRelease.self, from: $0).manifest.slug.sha256
                }
            }
            let done = try BucketSpool(root: root, location: location).recover(
                app: app.name, recorded: Set(entries.map(\.version)),
                referenced: Set(entries.map(\.slugSHA256) + staged))
            outcome.republished += done.published
            outcome.discarded += done.removed
        }

        // 2. Builds staged by pre-receive and never released.
        let stagedFolder = "\(app.directory)/staged"
        let names = (try? FileManager.default.contentsOfDirectory(atPath: stagedFolder)) ?? []
        guard !names.isEmpty else { return outcome }
        let repository = try? Repository.open(at: app.repository)
        for name in names.sorted() where name.hasSuffix(".json") {
            let path = "\(stagedFolder)/\(name)"
            let commit = String(name.dropLast(5))
            guard let data = FileManager.default.contents(atPath: path),
                let staged = try? JSONDecoder().decode(StagedRelease.self, from: data)
            else {
                unlink(path)
                outcome.discarded += 1
                continue
            }
            let branches = staged.branch.map { [$0] } ?? ["main", "master"]
            let accepted = branches.contains { (try? repository?.commit("refs/heads/\($0)").sha) == commit }
            let alreadyReleased = try ledger.entries().contains { $0.buildID == staged.buildID }
            if accepted && !alreadyReleased {
                let entry = try Publisher(root: root).publish(
                    app: app, manifest: staged.manifest, description: "Deploy \(commit.prefix(7))", user: staged.user,
                    buildpackConfigVars: staged.buildpackConfigVars, buildID: staged.buildID)
                BuildRecord.noteRelease(entry.version, app: app, id: staged.buildID)
                outcome.released.append(entry.version)
            } else if !accepted {
                // A hook in another git server holds no lock between its pre-receive and post-receive: a build
                // staged a moment ago may be about to be accepted. Only an old one is known to be refused.
                guard Self.age(of: path) > 600 else { continue }
                outcome.discarded += 1
            }
            unlink(path)
        }
        return outcome
    }

    /// Recovers `apps` (every app when empty), each under its lock; returns a line per app that needed anything.
    /// What `receive-pack recover` runs, for example when the server starts after a crash.
    public static func recoverAll(root: SlipwayRoot, apps names: [String] = [], waitLimit: Duration) throws -> [String]
    {
        let registry = AppRegistry(root: root)
        let apps = names.isEmpty ? try registry.list().map(\.name) : names
        var report: [String] = []
        // Work folders of killed builds, whichever app they built (each is locked by its build while it runs).
        let swept = Sweeper.sweep(root: root)
        if swept.buildFolders > 0 { report.append("removed \(swept.buildFolders) build folder(s) of killed pushes") }
        if swept.staged + swept.spoolEntries > 0 {
            report.append("removed \(swept.staged + swept.spoolEntries) old staged build(s) and spool leftover(s)")
        }
        for name in apps {
            try AppName.validate(name)
            guard try registry.settings(name) != nil else {
                throw DoorError(.notFound, "slipway: no app \(name) (receive-pack apps list shows the apps)")
            }
            let app = root.app(name)
            let lock = try AppLock.acquire(
                app, as: AppLock.Holder(user: "operator", commit: nil, action: "recover"), limit: waitLimit,
                say: { report.append("\(name): \($0)") })
            let outcome = try withExtendedLifetime(lock) { try recover(app: app, root: root) }
            var done: [String] = []
            if !outcome.gitLocks.isEmpty {
                done.append("removed git's stale lock files " + outcome.gitLocks.joined(separator: ", "))
            }
            if !outcome.released.isEmpty {
                done.append("released " + outcome.released.map { "v\($0)" }.joined(separator: ", "))
            }
            if !outcome.republished.isEmpty {
                done.append(
                    "handed over " + outcome.republished.map { "v\($0)" }.joined(separator: ", ") + " to the spool")
            }
            if outcome.discarded > 0 { done.append("removed \(outcome.discarded) leftover(s)") }
            if !done.isEmpty { report.append("\(name): " + done.joined(separator: "; ")) }
        }
        return report
    }

    /// Seconds since `path` was last modified.
    static func age(of path: String) -> TimeInterval {
        var st = stat()
        guard stat(path, &st) == 0 else { return 0 }
        return Date().timeIntervalSince1970 - TimeInterval(st.st_mtim.tv_sec)
    }

    /// The version of a standard spool entry name of `app` (`<ms>.<app>.v<N>`), nil for another app's.
    static func version(of name: String, app: String) -> Int? {
        let parts = name.split(separator: ".")
        guard parts.count == 3, parts[1] == app, parts[2].hasPrefix("v") else { return nil }
        return Int(parts[2].dropFirst())
    }
}
