import SlipwayAppWebhooks
import SlipwayDoorRecords
import SlipwayPlatformEvents
import SlugCompiler

extension BuildRecord {
    /// Tells the app's webhooks how the build stands: started, succeeded, or failed with the line the pusher saw; and
    /// records it for the app's log (`Build started by user alice`, `Build succeeded`, `Build failed`).
    func report(root: SlipwayRoot, app: String, error: (any Error)? = nil) {
        let kind: PlatformEvent.Kind =
            result == .running ? .buildStarted : result == .succeeded ? .buildSucceeded : .buildFailed
        DoorEvents.record(PlatformEvent(kind, app: app, user: user, buildID: id), root: root)
        let shown = error.flatMap { $0 is DoorError || $0 is BuildError ? "\($0)" : nil }
        AppNotifications.build(
            root.layout, app: app, id: id, result: result.rawValue, commit: commit, user: user, startedAt: startedAt,
            reason: cancelledBy.map { "The build was cancelled by \($0) (builds:cancel)." } ?? shown)
    }
}
