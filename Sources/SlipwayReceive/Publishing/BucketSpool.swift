import Foundation
import SlipwayDoorRecords
import SlipwayHTTP
import SlipwayObjectStore
import SlipwaySpool

#if canImport(Glibc)
    import Glibc
#endif

/// The server's side of the spool in a bucket (docs/spool.md, "The spool in object storage"), around the release
/// ledger's commit point as the folder's is:
///
/// 1. ``storeSlug(app:sha256:path:)``: the slug goes to `slugs/<app>/<sha256>.tgz` first, unless it is there
///    already (a config change or a rollback: no second upload), and is checked (size and SHA-256 metadata).
/// 2. ``prepare(name:manifest:)``: `release.json` is written to `<root>/spool/outbox/<name>.json`, durably, before the
///    ledger line.
/// 3. ``commit(prepared:app:version:)``: after the ledger line, a create-only `PUT` of `releases/<app>/<version>.json`
///    hands the release over; the outbox file goes.
///
/// A crash between 2 and 3 leaves an outbox file: ``recover(app:recorded:referenced:)`` publishes it when the ledger
/// has its version and removes it otherwise, with the slugs no release refers to.
struct BucketSpool {
    let root: SlipwayRoot
    let location: S3Location
    let credentials: S3Credentials

    init(root: SlipwayRoot, location: S3Location) throws {
        self.root = root
        self.location = location
        do {
            self.credentials = try SpoolTarget.credentials(root)
        } catch let error as ObjectStoreError {
            throw DoorError(.pushFailed, lines: "Cannot publish to \(location.url): \(error.message).")
        }
    }

    /// `<root>/spool/outbox`.
    var outbox: String { "\(root.spoolDirectory)/outbox" }

    /// Runs S3 work, turning its errors into one line for the pusher.
    func run<T: Sendable>(_ what: String, _ body: @escaping @Sendable (S3Client) async throws -> T) throws -> T {
        do {
            return try Blocking.withClient(location, credentials, body)
        } catch let error as ObjectStoreError {
            throw DoorError(.pushFailed, lines: "Cannot \(what) in \(location.url): \(error.message).")
        }
    }

    /// Uploads the slug unless the bucket has it, then checks the stored object. Returns whether it uploaded.
    @discardableResult
    func storeSlug(app: String, sha256: String, path: String) throws -> Bool {
        let key = BucketLayout.slugKey(app: app, sha256: sha256)
        var info = stat()
        guard stat(path, &info) == 0 else {
            throw DoorError(.pushFailed, lines: "The slug \(sha256.prefix(12)) of \(app) is missing.")
        }
        let size = Int64(info.st_size)
        return try run("store the slug") { client in
            if let existing = try await client.head(key), existing.size == size, existing.metadata["sha256"] == sha256 {
                return false
            }
            Failpoint.beforeSlugUpload.trigger()
            try await client.upload(file: path, to: key, metadata: ["sha256": sha256])
            guard let stored = try await client.head(key), stored.size == size, stored.metadata["sha256"] == sha256
            else {
                throw ObjectStoreError(.digestMismatch, "the uploaded slug \(key) does not read back as written")
            }
            return true
        }
    }

    /// Writes the manifest durably into the outbox; returns its path.
    func prepare(name: String, manifest: Data) throws -> String {
        let path = "\(outbox)/\(name).json"
        try StateFiles.writeAtomically(manifest, to: path, mode: 0o640)
        return path
    }

    /// Hands the prepared manifest over: a create-only `PUT`. An object already there with the same bytes (a retry)
    /// is success; different bytes are refused, since a manifest is written only once.
    func commit(prepared path: String, app: String, version: Int) throws {
        guard let manifest = FileManager.default.contents(atPath: path) else {
            throw DoorError(.pushFailed, lines: "The prepared release \(path) is gone.")
        }
        let key = BucketLayout.manifestKey(app: app, version: version)
        try run("publish v\(version) of \(app)") { client in
            do {
                try await client.put(key, manifest, createOnly: true, contentType: "application/json")
            } catch let error as ObjectStoreError where error.code == .alreadyExists {
                guard try await client.get(key) == manifest else {
                    throw ObjectStoreError(.alreadyExists, "\(key) already holds another release")
                }
            }
        }
        unlink(path)
        StateFiles.syncFolder(outbox)
    }

    /// After a crash: publishes outbox manifests of `app` whose version the ledger `recorded`, removes the others, and
    /// deletes slug objects of the app that no ledger entry `referenced`. Returns (published, removed).
    func recover(app: String, recorded: Set<Int>, referenced: Set<String>) throws -> (published: [Int], removed: Int) {
        var published: [Int] = []
        var removed = 0
        let names = (try? FileManager.default.contentsOfDirectory(atPath: outbox)) ?? []
        for name in names.sorted() where name.hasSuffix(".json") {
            let entry = String(name.dropLast(5))
            guard let version = ReleaseRecovery.version(of: entry, app: app) else { continue }
            if recorded.contains(version) {
                try commit(prepared: "\(outbox)/\(name)", app: app, version: version)
                published.append(version)
            } else {
                unlink("\(outbox)/\(name)")
                removed += 1
            }
        }
        let prefix = "slugs/\(app)/"
        removed += try run("check the slugs of \(app)") { client in
            var count = 0
            for object in try await client.list(prefix) {
                let sha = String(object.key.dropFirst(prefix.count).prefix { $0 != "." })
                guard !referenced.contains(sha) else { continue }
                try await client.delete(object.key)
                count += 1
            }
            return count
        }
        return (published, removed)
    }
}

extension Publisher {
    /// With a bucket as the spool, uploads a freshly built slug (already in the app's store) before git is told to
    /// take the push, so that a failed upload rejects the push and releases nothing. Returns a line to show, or nil
    /// when the spool is the folder.
    static func uploadSlug(root: SlipwayRoot, app: AppPaths, sha256: String) throws -> String? {
        guard case .bucket(let location) = try SpoolTarget.load(root) else { return nil }
        let bucket = try BucketSpool(root: root, location: location)
        let uploaded = try bucket.storeSlug(app: app.name, sha256: sha256, path: "\(app.slugs)/\(sha256).tgz")
        return uploaded ? "Slug uploaded to \(location.url)" : "Slug already in \(location.url)"
    }
}
