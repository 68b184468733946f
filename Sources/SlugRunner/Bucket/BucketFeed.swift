import Foundation
import SlipwayHTTP
import SlipwayObjectStore
import SlipwayPlatformEvents
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// Brings releases from a bucket into the runner's own spool folder, claimed (docs/spool.md, "The spool in object
/// storage"), so that the watcher runs them exactly as it runs entries of a local spool.
///
/// Each pass lists `releases/`, and for each app takes only its highest version above the last one it handled (a
/// runner never goes backwards, and lower versions would be replaced at once). It claims that release with a
/// create-only `PUT` of `claims/<app>/<version>.json`: a claim another runner wrote means that runner runs it. Then
/// it downloads `release.json` and the slug into `spool/tmp/<entry>/`, checking the slug's size and SHA-256 while
/// the bytes arrive, and renames the folder into `spool/cur/<entry>/`. A release whose slug is missing or does not
/// match is refused and never reaches `cur/`. Each pass first copies the door's events it has not got into
/// `spool/events/` (``BucketEventStore``), where the watcher reads them as it does on the door's own root.
final class BucketFeed: @unchecked Sendable {
    let source: BucketSource
    let spool: Spool
    /// The door's key: a release it did not sign is never downloaded (``SignedRelease``).
    let key: RunnerReleaseKey
    let say: @Sendable (String) -> Void
    let interval: Duration
    private let lock = NSLock()
    private var stopped = false
    private var early = false
    /// The highest version handled per app (claimed by anyone, or refused for its slug).
    private var handled: [String: Int] = [:]
    /// Releases the door did not sign (`<app>/<version>`): skipped, without hiding the door's own releases below.
    private var unsigned: Set<String> = []
    private var thread: Thread?

    init(
        source: BucketSource, spool: Spool, key: RunnerReleaseKey, interval: Duration,
        say: @escaping @Sendable (String) -> Void
    ) {
        self.source = source
        self.spool = spool
        self.key = key
        self.interval = interval
        self.say = say
    }

    /// Starts polling on a thread of its own.
    func start() {
        let thread = Thread { [self] in
            while !isStopped {
                pass()
                let until = ContinuousClock.now + interval
                while !isStopped && !takeEarlyLook() && ContinuousClock.now < until { usleep(20_000) }
            }
        }
        thread.name = "bucket-feed"
        self.thread = thread
        thread.start()
    }

    func stop() { lock.withLock { stopped = true } }

    /// Has the next look happen now rather than at the end of the interval: the door, on the same machine, just
    /// changed something (its release ledger).
    func lookNow() { lock.withLock { early = true } }

    private func takeEarlyLook() -> Bool {
        lock.withLock {
            defer { early = false }
            return early
        }
    }

    private var isStopped: Bool { lock.withLock { stopped } }

    /// One look at the bucket; errors are reported and the next pass tries again.
    func pass() {
        do {
            let (known, skipped, say, source) = (handled, unsigned, say, source)
            let events = FolderEventStore(spoolDirectory: spool.directory)
            let fresh = try Blocking.withClient(source.location, source.credentials) { client in
                // The door's events first: those of a release are in the bucket before it, and so here before it.
                do {
                    try await BucketEventStore.mirror(client: client, into: events)
                } catch {
                    say("slugrunner[bucket]: cannot copy the door's events from \(source.location.url): \(error)")
                }
                return try await Self.latest(client: client, above: known, skipping: skipped)
            }
            for (app, version) in fresh.sorted(by: { $0.key < $1.key }) where !isStopped {
                take(app: app, version: version)
            }
        } catch {
            say("slugrunner[bucket]: cannot read \(source.location.url): \(error)")
        }
    }

    /// The highest version of each app in the bucket that is above `known` and not among `skipped` (`<app>/<version>`).
    static func latest(client: S3Client, above known: [String: Int], skipping skipped: Set<String> = []) async throws
        -> [String: Int]
    {
        var latest: [String: Int] = [:]
        for object in try await client.list(BucketLayout.releasesPrefix) {
            guard let (app, version) = BucketLayout.parseManifestKey(object.key), AppName.isValid(app),
                version > known[app, default: 0], version > latest[app, default: 0],
                !skipped.contains("\(app)/\(version)")
            else { continue }
            latest[app] = version
        }
        return latest
    }

    /// Claims, downloads and hands over one release; marks it handled whatever happens but a network failure, or
    /// skipped when the door did not sign it.
    func take(app: String, version: Int) {
        do {
            let source = self.source
            let (spool, key) = (self.spool, self.key)
            let outcome = try Blocking.withClient(source.location, source.credentials) { client in
                try await Self.fetch(
                    app: app, version: version, client: client, source: source, spool: spool, key: key)
            }
            if case .unsigned = outcome {
                unsigned.insert("\(app)/\(version)")
            } else {
                handled[app] = version
            }
            if let line = outcome.line { say("slugrunner[bucket]: \(app) v\(version): \(line)") }
        } catch let error as ObjectStoreError where error.code == .unreachable || error.isTransient {
            say("slugrunner[bucket]: \(app) v\(version): \(error.message); trying again")
        } catch {
            handled[app] = version
            say("slugrunner[bucket]: refused \(app) v\(version): \(error)")
        }
    }

    /// What ``fetch(app:version:client:source:spool:key:)`` did.
    enum FetchOutcome {
        /// Claimed and handed over (the line says how).
        case taken(String)
        /// Another runner has it, or this one already did.
        case elsewhere
        /// Not the door's: never claimed, never downloaded.
        case unsigned(String)

        var line: String? {
            switch self {
            case .taken(let line), .unsigned(let line): line
            case .elsewhere: nil
            }
        }
    }

    /// The work of ``take(app:version:)``.
    static func fetch(
        app: String, version: Int, client: S3Client, source: BucketSource, spool: Spool, key: RunnerReleaseKey
    ) async throws -> FetchOutcome {
        guard let data = try await client.get(BucketLayout.manifestKey(app: app, version: version)) else {
            throw ObjectStoreError(.notFound, "its release.json is gone")
        }
        // A release the door did not sign is never claimed and its slug never downloaded: it goes to cur/ alone (once),
        // so that the watcher refuses it with a line in the app's log.
        let manifest: ReleaseManifest
        do {
            manifest = try SignedRelease.open(data, with: key)
        } catch {
            if !spool.holds(app: app, version: version, in: ["cur", "rejected"]) {
                try await handOver(manifest: data, name: Spool.entryName(app: app, version: version), spool: spool)
            }
            return .unsigned("refused: \(error)")
        }
        guard manifest.app == app, manifest.version == version else {
            throw ObjectStoreError(.digestMismatch, "its release.json names \(manifest.app) v\(manifest.version ?? 0)")
        }
        let claimKey = BucketLayout.claimKey(app: app, version: version)
        let claim = BucketClaim(runner: source.runnerID, claimedAt: ISO8601DateFormatter().string(from: Date()))
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            try await client.put(claimKey, try encoder.encode(claim), createOnly: true, contentType: "application/json")
        } catch let error as ObjectStoreError where error.code == .alreadyExists {
            // Ours only if this runner wrote it before (a restart between claim and hand-over).
            guard let data = try await client.get(claimKey),
                let existing = try? JSONDecoder().decode(BucketClaim.self, from: data),
                existing.runner == source.runnerID
            else { return .elsewhere }
        }
        let date = ISO8601DateFormatter().date(from: manifest.createdAt) ?? Date(timeIntervalSince1970: 0)
        let name = Spool.entryName(app: app, version: version, date: date)
        for folder in ["cur", "rejected", "failed"]
        where FileManager.default.fileExists(atPath: "\(spool.directory)/\(folder)/\(name)") {
            return .elsewhere  // already here
        }
        try await handOver(manifest: data, name: name, spool: spool) { path in
            let slugKey = BucketLayout.slugKey(app: app, sha256: manifest.slug.sha256)
            do {
                try await client.download(slugKey, to: path, sha256: manifest.slug.sha256, size: manifest.slug.size)
            } catch let error as ObjectStoreError where error.code == .notFound {
                throw ObjectStoreError(
                    .notFound, "its slug \(manifest.slug.sha256.prefix(12)) is missing from the bucket")
            }
        }
        return .taken("claimed and downloaded as \(name) (slug SHA-256 checked)")
    }

    /// Puts `release.json` (and the slug `download` writes, when given) into `spool/tmp/<name>/`, then renames it
    /// into `spool/cur/<name>/`; nothing is left in `tmp/` on failure.
    static func handOver(
        manifest data: Data, name: String, spool: Spool, download: ((String) async throws -> Void)? = nil
    ) async throws {
        let work = "\(spool.temporaryDirectory)/\(name)"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        do {
            if let download { try await download("\(work)/\(Spool.slugFileName)") }
            guard
                FileManager.default.createFile(
                    atPath: "\(work)/\(Spool.manifestFileName)", contents: data, attributes: [.posixPermissions: 0o640])
            else {
                throw ObjectStoreError(.server, "cannot write \(work)/\(Spool.manifestFileName)")
            }
            guard rename(work, "\(spool.currentDirectory)/\(name)") == 0 else {
                throw ObjectStoreError(.server, "cannot move \(work) into cur/: \(String(cString: strerror(errno)))")
            }
        } catch {
            try? FileManager.default.removeItem(atPath: work)
            throw error
        }
    }
}

extension Spool {
    /// Whether an entry of `app`'s `version` is in one of this spool's `folders` (`cur`, `rejected`, …).
    fileprivate func holds(app: String, version: Int, in folders: [String]) -> Bool {
        folders.contains { folder in
            ((try? FileManager.default.contentsOfDirectory(atPath: "\(directory)/\(folder)")) ?? []).contains {
                $0.hasSuffix(".\(app).v\(version)")
            }
        }
    }
}
