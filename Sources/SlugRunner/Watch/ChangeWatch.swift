import SlipwayPlatformEvents
import SlipwayRunnerKit
import SlipwaySpool
import SlipwaySystem

/// What makes the watcher look at once instead of at its next periodic look (`--interval`): an entry landing in the
/// spool (the door's new release, or one the bucket feed brought into `cur/`) and a change in an app's folder of the
/// door's (its `dynos.json`: `ps:scale`, `ps:restart`, `domains:add`…; its release ledger, when the spool is a
/// bucket), and an event the door recorded for an app's log (a build starting). inotify through the system layer's ``FolderWatch``; where it cannot be had (or misses an event) the
/// periodic look still finds everything.
final class ChangeWatch {
    private let folders: FolderWatch?
    private let layout: RootLayout
    /// The door's events (a build starting writes no spool entry).
    private let events: FolderEventStore

    init(root: RunnerRoot, spool: Spool) {
        layout = root.layout
        folders = try? FolderWatch()
        events = FolderEventStore(spoolDirectory: spool.directory)
        for folder in [spool.newDirectory, spool.currentDirectory, layout.buildApps, events.directory] {
            folders?.watch(folder)
        }
    }

    /// The descriptor to poll beside the others (-1: none, which poll ignores).
    var fd: Int32 { folders?.fd ?? -1 }

    /// Whether something changed since the last call (reads every pending event).
    func changed() -> Bool { folders?.drain() ?? false }

    /// Watches the folders of `apps` too (a new app's folder is seen once the watcher knows the app).
    func watch(apps: some Sequence<String>) {
        folders?.watch(events.directory)
        for app in Set(apps).union(events.apps()) {
            folders?.watch("\(layout.buildApps)/\(app)")
            folders?.watch(events.folder(app))
        }
    }
}
