import Foundation
import SlipwayDrains
import SlipwayLogs
import SlipwayRunnerKit
import SlipwaySpool

/// Where the watcher and its engines write: each app's log (``AppLog``), and the runner's own event lines on stderr.
/// Used from the watcher's thread only.
final class RunnerLogs {
    let root: RunnerRoot
    let maxBytes: Int64
    /// The door reads `state.json` and the logs: when this runs as root, they are given to `<root>`'s owner.
    lazy var access = DoorAccess(rootPath: root.path)
    /// Where the runner's own event lines go (stderr).
    let say: (String) -> Void
    /// Every app's drains: each line of an app's log goes to them too (docs/drains.md).
    let drains: DrainRegistry
    private var logs: [String: AppLog] = [:]

    init(root: RunnerRoot, maxBytes: Int64, drains: DrainRegistry, say: @escaping (String) -> Void) {
        self.root = root
        self.maxBytes = maxBytes
        self.drains = drains
        self.say = say
    }

    /// The log of `app`, its drains started with it.
    func log(_ app: String) -> AppLog {
        if let log = logs[app] { return log }
        let opened = OpenedLog()
        let appDrains = drains.drains(for: app) { drain, event in opened.log?.write(event.logLine(drain)) }
        let log = AppLog(
            path: root.log(app), maxBytes: maxBytes, access: access,
            sink: appDrains.running.isEmpty ? nil : appDrains)
        opened.log = log
        logs[app] = log
        return log
    }

    /// After `app`'s drains changed: its log hands its lines to them while it has some, and to nothing otherwise.
    func drainsChanged(_ app: String) {
        guard let log = logs[app], let appDrains = drains.opened(app) else { return }
        log.attach(appDrains.running.isEmpty ? nil : appDrains)
    }

    /// A runner event about `component` of `app`: into the app's log and on stderr.
    func log(_ app: String, _ component: String, _ text: String) {
        let line = LogLine.runner(component, text)
        log(app).write(line)
        say("\(LogLine.timestamp(line.date)) \(app) slugrunner[\(component)]: \(text)")
    }

    /// A runner event that concerns no app (or an app known only from an entry's name): on stderr only.
    func event(_ app: String?, _ component: String, _ text: String) {
        if let app, AppName.isValid(app) {
            log(app, component, text)
        } else {
            say("\(LogLine.timestamp(Date())) slugrunner[\(component)]: \(text)")
        }
    }
}

/// The app's log, once it is made, for its drains' own lines.
private final class OpenedLog: @unchecked Sendable {
    private let lock = NSLock()
    private weak var made: AppLog?
    var log: AppLog? {
        get { lock.withLock { made } }
        set { lock.withLock { made = newValue } }
    }
}

extension Duration {
    /// `30s`, `1.5s`, `0.05s`: the duration as the runner's log lines say it.
    var spoken: String {
        let (seconds, attoseconds) = components
        let milliseconds = seconds * 1000 + attoseconds / 1_000_000_000_000_000
        guard milliseconds % 1000 != 0 else { return "\(milliseconds / 1000)s" }
        var text = String(format: "%.3f", Double(milliseconds) / 1000)
        while text.hasSuffix("0") { text.removeLast() }
        return text + "s"
    }
}
