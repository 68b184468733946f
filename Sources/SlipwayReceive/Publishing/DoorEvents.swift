import Foundation
public import SlipwayDoorRecords
import SlipwayHTTP
import SlipwayObjectStore
public import SlipwayPlatformEvents
import SlipwaySpool

/// Records the door's build and release events in the spool the root publishes to (its folder or its bucket), for
/// the runner to write into the app's log as `slugrunner[api]` lines (docs/spool.md, "The door's events"). Never
/// throws and never fails a push: an event that cannot be recorded is noted in the server's log and dropped.
public enum DoorEvents {
    public static func record(_ event: PlatformEvent, root: SlipwayRoot) {
        do {
            switch try SpoolTarget.load(root) {
            case .folder:
                try FolderEventStore(spoolDirectory: root.spoolDirectory).record(event)
            case .bucket(let location):
                let credentials = try SpoolTarget.credentials(root)
                _ = try Blocking.withClient(location, credentials) {
                    try await BucketEventStore.record(event, client: $0)
                }
            }
        } catch {
            ServerLog.note(
                "\(event.app): the \(event.kind) event was not recorded for the app's log: \(error)", root: root)
        }
    }
}
