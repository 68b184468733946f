public import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The door's events of every app in a folder, `<root>/spool/events/<app>/<name>` (docs/spool.md, "The door's
/// events"): one file per event, created once (temporary name, fsync, hard link), at most ``kept`` per app (the
/// oldest are removed). The door writes it when its spool is the folder; a runner whose releases come from a bucket
/// keeps a copy of the bucket's events in its own root's, so that its watcher reads one place either way.
public struct FolderEventStore: Sendable {
    /// `<spool>/events`.
    public let directory: String
    /// Events kept per app.
    public static let kept = 100

    public init(spoolDirectory: String) {
        directory = "\(spoolDirectory)/events"
    }

    /// `<spool>/events/<app>`.
    public func folder(_ app: String) -> String { "\(directory)/\(app)" }

    /// The apps that have events (folders with a valid app name).
    public func apps() -> [String] {
        ((try? FileSystem.names(in: directory)) ?? []).filter { AppName.isValid($0) }.sorted()
    }

    /// The names of `app`'s events, oldest first.
    public func names(_ app: String) -> [PlatformEventName] {
        ((try? FileSystem.names(in: folder(app))) ?? []).compactMap { PlatformEventName($0) }.sorted()
    }

    /// The event `name` of `app`, nil when it is gone or unreadable.
    public func read(_ app: String, _ name: PlatformEventName) -> PlatformEvent? {
        guard let data = (try? FileSystem.read("\(folder(app))/\(name)")) ?? nil else { return nil }
        return PlatformEvent.decode(data)
    }

    /// Records `event` under the next name of its app, then removes the oldest past ``kept``. Returns its name.
    @discardableResult
    public func record(_ event: PlatformEvent, now: Date = Date()) throws -> PlatformEventName {
        let data = try event.encoded()
        var last = names(event.app).last
        for _ in 0..<100 {
            let name = PlatformEventName.next(after: last, now: Int64(now.timeIntervalSince1970 * 1000))
            if try store(data, app: event.app, name: name) {
                prune(event.app)
                return name
            }
            last = name  // another writer took it: the one after
        }
        throw SystemError("create", folder(event.app), errno: EEXIST)
    }

    /// Stores `data` as event `name` of `app` unless that name exists; whether it was stored.
    @discardableResult
    public func store(_ data: Data, app: String, name: PlatformEventName) throws -> Bool {
        try FileSystem.makeFolders(folder(app), mode: 0o750)
        return try DurableFile.createOnce("\(folder(app))/\(name)", with: data, mode: 0o640)
    }

    /// Removes `app`'s oldest events past the newest `keep`.
    public func prune(_ app: String, keep: Int = kept) {
        for name in names(app).dropLast(keep) { unlink("\(folder(app))/\(name)") }
    }
}
