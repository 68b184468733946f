import Foundation
import SlipwayHTTP
import SlipwayObjectStore
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
/// match is refused and never reaches `cur/`.
final class BucketFeed: @unchecked Sendable {
    let source: BucketSource
    let spool: Spool
    let say: @Sendable (String) -> Void
    let interval: Duration
    private let lock = NSLock()
    private var stopped = false
    private var early = false
    /// The highest version handled per app (claimed by anyone, or refused).
    private var handled: [String: Int] = [:]
    private var thread: Thread?

    init(source: BucketSource, spool: Spool, interval: Duration, say: @escaping @Sendable (String) -> Void) {
        self.source = source
        self.spool = spool
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
            let known = handled
            let fresh = try Blocking.withClient(source.location, source.credentials) { client in
                try await Self.latest(client: client, above: known)
            }
            for (app, version) in fresh.sorted(by: { $0.key < $1.key }) where !isStopped {
                take(app: app, version: version)
            }
        } catch {
            say("slugrunner[bucket]: cannot read \(source.location.url): \(error)")
        }
    }

    /// The highest version of each app in the bucket that is above `known`.
    static func latest(client: S3Client, above known: [String: Int]) async throws -> [String: Int] {
        var latest: [String: Int] = [:]
        for object in try await client.list(BucketLayout.releasesPrefix) {
            guard let (app, version) = BucketLayout.parseManifestKey(object.key), AppName.isValid(app),
                version > known[app, default: 0], version > latest[app, default: 0]
            else { continue }
            latest[app] = version
        }
        return latest
    }

    /// Claims, downloads and hands over one release; marks it handled whatever happens but a network failure.
    func take(app: String, version: Int) {
        do {
            let source = self.source
            let spool = self.spool
            let outcome = try Blocking.withClient(source.location, source.credentials) { client in
                try await Self.fetch(app: app, version: version, client: client, source: source, spool: spool)
            }
            handled[app] = version
            if let outcome { say("slugrunner[bucket]: \(app) v\(version): \(outcome)") }
        } catch let error as ObjectStoreError where error.code == .unreachable || error.isTransient {
            say("slugrunner[bucket]: \(app) v\(version): \(error.message); trying again")
        } catch {
            handled[app] = version
            say("slugrunner[bucket]: refused \(app) v\(version): \(error)")
        }
    }

    /// The work of ``take(app:version:)``; returns a line to log, or nil when another runner has the release.
    static func fetch(app: String, version: Int, client: S3Client, source: BucketSource, spool: Spool) async throws
        -> String?
    {
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
            else { return nil }
        }
        guard let data = try await client.get(BucketLayout.manifestKey(app: app, version: version)) else {
            throw ObjectStoreError(.notFound, "its release.json is gone")
        }
        let manifest = try ReleaseManifest.decode(data)
        guard manifest.app == app, manifest.version == version else {
            throw ObjectStoreError(.digestMismatch, "its release.json names \(manifest.app) v\(manifest.version ?? 0)")
        }
        let date = ISO8601DateFormatter().date(from: manifest.createdAt) ?? Date(timeIntervalSince1970: 0)
        let name = Spool.entryName(app: app, version: version, date: date)
        for folder in ["cur", "rejected", "failed"]
        where FileManager.default.fileExists(atPath: "\(spool.directory)/\(folder)/\(name)") {
            return nil  // already here
        }
        let work = "\(spool.temporaryDirectory)/\(name)"
        try? FileManager.default.removeItem(atPath: work)
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        do {
            let slugKey = BucketLayout.slugKey(app: app, sha256: manifest.slug.sha256)
            do {
                try await client.download(
                    slugKey, to: "\(work)/\(Spool.slugFileName)", sha256: manifest.slug.sha256, size: manifest.slug.size
                )
            } catch let error as ObjectStoreError where error.code == .notFound {
                throw ObjectStoreError(
                    .notFound, "its slug \(manifest.slug.sha256.prefix(12)) is missing from the bucket")
            }
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
        return "claimed and downloaded as \(name) (slug SHA-256 checked)"
    }
}
