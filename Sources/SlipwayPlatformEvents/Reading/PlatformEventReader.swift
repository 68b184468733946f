public import Foundation
public import SlipwayLogs
import SlipwaySystem

/// The runner's side: each app's events it has not written yet, in order, as lines of the app's log. What it wrote
/// last is kept per app in a file of its own (`cursor(app)`, replaced whole), so that a runner started again writes
/// neither an event twice nor, within the kept number, misses one. Written before the cursor is saved: a runner
/// killed in between writes those lines again (at least once, as the drains deliver).
public struct PlatformEventReader: Sendable {
    public let store: FolderEventStore
    /// Where the name of the last event written for an app is kept.
    public let cursor: @Sendable (String) -> String

    public init(store: FolderEventStore, cursor: @escaping @Sendable (String) -> String) {
        self.store = store
        self.cursor = cursor
    }

    /// The last event written for `app`, nil when none was.
    public func lastWritten(_ app: String) -> PlatformEventName? {
        guard let data = (try? FileSystem.read(cursor(app))) ?? nil else { return nil }
        return PlatformEventName(String(decoding: data, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
    }

    /// Hands `write` the line of each event of `app` after the last one written (an event of a kind this runner does
    /// not know, or unreadable, is skipped), then records the last one. Returns how many lines were written.
    @discardableResult
    public func take(_ app: String, now: Date = Date(), write: (LogLine) -> Void) -> Int {
        let last = lastWritten(app)
        let unseen = store.names(app).filter { name in last.map { name > $0 } ?? true }
        guard let newest = unseen.last else { return 0 }
        var written = 0
        for name in unseen {
            guard let line = store.read(app, name)?.logLine(now: now) else { continue }
            write(line)
            written += 1
        }
        let path = cursor(app)
        try? FileSystem.makeFolders((path as NSString).deletingLastPathComponent, mode: 0o750)
        try? DurableFile.replace(path, with: Data("\(newest)\n".utf8), mode: 0o640)
        return written
    }

    /// ``take(_:now:write:)`` for every app that has events, each line handed to `write` with its app.
    public func takeAll(now: Date = Date(), write: (String, LogLine) -> Void) {
        for app in store.apps() { take(app, now: now) { write(app, $0) } }
    }
}
