public import Foundation
public import SlipwayObjectStore
import SlipwaySpool

/// The door's events in a bucket spool: `<prefix>/events/<app>/<name>`, each created once (`If-None-Match: *`), at
/// most ``FolderEventStore/kept`` per app. The door records into it when its spool is the bucket; a runner copies
/// what it has not got into its own root's ``FolderEventStore`` (``mirror(client:into:)``), before it takes the
/// releases of the same look, so that a release's events are always there before the release.
public enum BucketEventStore {
    /// `events/`.
    public static let prefix = "events/"

    /// `events/<app>/<name>`.
    public static func key(app: String, name: PlatformEventName) -> String { "\(prefix)\(app)/\(name)" }

    /// The app and name of an event's key, nil for any other key.
    public static func parse(_ key: String) -> (app: String, name: PlatformEventName)? {
        let parts = key.split(separator: "/", omittingEmptySubsequences: false)
        guard parts.count == 3, "\(parts[0])/" == prefix, AppName.isValid(String(parts[1])),
            let name = PlatformEventName(parts[2])
        else { return nil }
        return (String(parts[1]), name)
    }

    /// `app`'s event names in the bucket, oldest first.
    static func names(_ app: String, client: S3Client) async throws -> [PlatformEventName] {
        try await client.list("\(prefix)\(app)/").compactMap { parse($0.key)?.name }.sorted()
    }

    /// Records `event` under the next name of its app, then deletes the oldest past the kept number.
    @discardableResult
    public static func record(_ event: PlatformEvent, client: S3Client, now: Date = Date()) async throws
        -> PlatformEventName
    {
        let data = try event.encoded()
        let existing = try await names(event.app, client: client)
        var last = existing.last
        for _ in 0..<20 {
            let name = PlatformEventName.next(after: last, now: Int64(now.timeIntervalSince1970 * 1000))
            do {
                try await client.put(
                    key(app: event.app, name: name), data, createOnly: true, contentType: "application/json")
            } catch let error as ObjectStoreError where error.code == .alreadyExists {
                last = name  // another writer took it: the one after
                continue
            }
            for old in (existing + [name]).dropLast(FolderEventStore.kept) {
                try? await client.delete(key(app: event.app, name: old))
            }
            return name
        }
        throw ObjectStoreError(.alreadyExists, "every name for \(event.app)'s event was taken")
    }

    /// Copies into `store` each event of the bucket newer than the newest `store` has of its app (at most the kept
    /// number per app), then trims `store`. Returns how many were copied.
    @discardableResult
    public static func mirror(client: S3Client, into store: FolderEventStore) async throws -> Int {
        var byApp: [String: [PlatformEventName]] = [:]
        for object in try await client.list(prefix) {
            guard let (app, name) = parse(object.key) else { continue }
            byApp[app, default: []].append(name)
        }
        var copied = 0
        for (app, names) in byApp.sorted(by: { $0.key < $1.key }) {
            let newest = store.names(app).last
            for name in names.sorted().suffix(FolderEventStore.kept) where newest.map({ name > $0 }) ?? true {
                guard let data = try await client.get(key(app: app, name: name), limit: 64 * 1024) else { continue }
                if try store.store(data, app: app, name: name) { copied += 1 }
            }
            store.prune(app)
        }
        return copied
    }
}
