import Foundation
import SlipwayAppWebhooks
public import SlipwayDoorRecords
import SlipwayPlatformEvents
public import SlipwaySpool
import SlipwaySystem

/// A build that passed pre-receive and waits for git to accept the ref before it is released.
struct StagedRelease: Codable {
    var buildID: String
    var manifest: ReleaseManifest
    var user: String
    /// The defaults of the buildpacks' `bin/release`, kept in the ledger (see ``LedgerEntry/buildpackConfigVars``).
    var buildpackConfigVars: [String: String]?
    /// The branch the build was pushed to, so recovery can tell whether git took it.
    var branch: String?

    /// `<app>/staged/<commit>.json`.
    static func path(_ app: AppPaths, commit: String) -> String { "\(app.directory)/staged/\(commit).json" }
}

/// Turns a built slug into a numbered release: records it in the app's ledger, then hands it to the runner through
/// the spool, signed by the door and its config vars sealed (``SignedRelease``).
///
/// The ledger line is the commit point, and the spool entry is built on each side of it: complete in `spool/tmp/`
/// before the line is written, renamed into `spool/new/` after. A crash before the line leaves a `tmp/` entry that
/// ``ReleaseRecovery`` discards; a crash after it, one that recovery publishes. A version number is never reused,
/// and a release the ledger records always reaches the runner. Callers hold the app's lock.
public struct Publisher: Sendable {
    public var root: SlipwayRoot

    public init(root: SlipwayRoot) {
        self.root = root
    }

    /// Publishes `manifest`'s slug (already stored as `<app>/slugs/<sha256>.tgz`) as the app's next release.
    /// `buildpackConfigVars` are the buildpacks' defaults among the manifest's config vars, recorded in the ledger.
    /// With a `buildID` that the ledger already records (a retry after a crash), returns that release instead.
    public func publish(
        app: AppPaths, manifest base: ReleaseManifest, description: String, user: String,
        buildpackConfigVars: [String: String]?, buildID: String? = nil
    ) throws -> LedgerEntry {
        let ledger = ReleaseLedger(path: app.ledger)
        if let buildID, let done = try ledger.entries().last(where: { $0.buildID == buildID }) { return done }
        let slugPath = "\(app.slugs)/\(base.slug.sha256).tgz"
        guard FileManager.default.fileExists(atPath: slugPath) else {
            throw DoorError(
                .pushFailed,
                lines: "The slug \(base.slug.sha256.prefix(12)) of \(app.name) is missing; nothing was released.")
        }
        let now = ISO8601DateFormatter().string(from: Date())
        let key: DoorReleaseKey
        do {
            key = try DoorReleaseKey.loadOrCreate(root.layout)
        } catch {
            // The pusher gets no server path; the operator's `receive-pack init` names the file and the fix.
            throw DoorError(
                .pushFailed,
                lines: "The server cannot sign releases (its release key is unusable); nothing was released. "
                    + "The operator must run receive-pack init.")
        }
        let spool = Spool(directory: root.spoolDirectory)
        try spool.prepare()
        // The bucket gets the slug before the ledger line; a failed upload leaves no release anywhere.
        var bucket: BucketSpool?
        if case .bucket(let location) = try SpoolTarget.load(root) {
            bucket = try BucketSpool(root: root, location: location)
            try bucket?.storeSlug(app: app.name, sha256: base.slug.sha256, path: slugPath)
        }
        var prepared: String?
        let entry = try ledger.append { version in
            var manifest = base
            manifest.version = version
            manifest.description = description
            manifest.user = user
            manifest.createdAt = now
            manifest.slug.path = "slug.tgz"
            let name = Spool.entryName(app: app.name, version: version)
            // Signed by the door, its config vars sealed to the runners: the spool never holds them in clear.
            let signed = try SignedRelease.seal(manifest, with: key)
            if let bucket {
                prepared = try bucket.prepare(name: name, manifest: signed)
            } else {
                prepared = try spool.prepare(name: name, manifest: signed, slugPath: slugPath)
            }
            return LedgerEntry(
                version: version, description: description, user: user, sourceVersion: base.sourceVersion,
                slugSHA256: base.slug.sha256, buildpacks: base.buildpacks, processTypes: base.processTypes,
                configVars: base.configVars, createdAt: now, stack: base.stack, addons: base.addons,
                buildpackConfigVars: buildpackConfigVars, buildID: buildID)
        }
        guard let prepared else {
            throw DoorError(.pushFailed, lines: "The release ledger of \(app.name) did not record the release.")
        }
        Failpoint.afterLedger.trigger()
        // Before the release reaches the runner, so that its line comes before the runner's `Deploying`.
        DoorEvents.record(
            PlatformEvent(.releaseCreated, app: app.name, user: user, release: entry.version, description: description),
            root: root)
        if let bucket {
            do {
                try bucket.commit(prepared: prepared, app: app.name, version: entry.version)
            } catch let error as DoorError where error.isFailure {
                throw DoorError(
                    .pushFailed,
                    lines:
                        "\(error.text) v\(entry.version) is recorded and goes to the bucket with `receive-pack recover \(app.name)`.",
                    systemError: error.systemError)
            }
        } else {
            try spool.commit(prepared: prepared)
        }
        AppNotifications.release(
            root.layout, app: app.name, version: entry.version, description: description, user: user,
            sourceVersion: base.sourceVersion, createdAt: now)
        return entry
    }

    /// Moves a freshly built slug into the app's content-addressed store (`<app>/slugs/<sha256>.tgz`).
    static func store(slug path: String, sha256: String, app: AppPaths) throws {
        try FileManager.default.createDirectory(atPath: app.slugs, withIntermediateDirectories: true)
        let target = "\(app.slugs)/\(sha256).tgz"
        if FileManager.default.fileExists(atPath: target) {
            unlink(path)
        } else {
            guard rename(path, target) == 0 else {
                let failure = SystemError("rename", path, errno: errno)
                throw DoorError(
                    .pushFailed, lines: "Cannot store the slug: \(String(cString: strerror(failure.errno))).",
                    systemError: failure)
            }
            StateFiles.syncFolder(app.slugs)
        }
    }
}
