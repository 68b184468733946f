import Foundation
import SlipwaySpool
import SlipwayTestSupport

/// What the drain tests set up around a ``RunnerHarness``: an app's dyno settings, as the door's `drains:add` and
/// `ps:scale` write them, and a real rsyslogd to drain to.
extension RunnerHarness {
    /// Saves `settings` as `app`'s dyno settings (`apps/<app>/dynos.json`, its folder made first).
    func saveDynoSettings(_ settings: DynoSettings, app: String = "myapp") throws {
        let path = RootLayout(root).dynoSettings(app)
        try FileManager.default.createDirectory(
            atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try settings.save(to: path)
    }

    /// A real rsyslogd taking plain TCP, in the scratch folder `folder`, and a drain to it with a token of its own.
    /// The caller stops the rsyslogd.
    func syslogDrain(_ folder: String = "syslog") throws -> (rsyslog: PrivateRsyslog, drain: LogDrain) {
        let rsyslog = try PrivateRsyslog(folder: try scratch.makeDirectory(folder), certificates: nil)
        return (rsyslog, LogDrain(url: "syslog://127.0.0.1:\(rsyslog.port)", token: LogDrain.newToken()))
    }
}
