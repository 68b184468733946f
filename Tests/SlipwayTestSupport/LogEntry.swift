import Foundation

/// A line of an app's log or of a drain, as the drain should carry it: source, dyno or component, text
/// (`app[web.1]: hello`).
public struct LogEntry: Equatable, Sendable, CustomStringConvertible {
    public var source: String
    public var component: String
    public var text: String

    public init(source: String, component: String, text: String) {
        self.source = source
        self.component = component
        self.text = text
    }

    public var description: String { "\(source)[\(component)]: \(text)" }

    /// The app's log file, parsed (`<timestamp> <source>[<component>]: <text>`); other lines are left out.
    public static func entries(_ log: String) -> [LogEntry] {
        log.split(separator: "\n").compactMap { line in
            guard let space = line.firstIndex(of: " "), let open = line.firstIndex(of: "["),
                let close = line.range(of: "]: ")
            else { return nil }
            return LogEntry(
                source: String(line[line.index(after: space)..<open]),
                component: String(line[line.index(after: open)..<close.lowerBound]),
                text: String(line[close.upperBound...]))
        }
    }

    /// What a drain (rsyslogd) received.
    public static func entries(_ messages: [PrivateRsyslog.Message]) -> [LogEntry] {
        messages.map { LogEntry(source: $0.appName, component: $0.procID, text: $0.text) }
    }
}
