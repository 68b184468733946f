import Foundation
public import SlipwayLogs
public import SlipwaySpool

/// An app's drains take each line its log writes.
extension AppDrains: LogSink {
    public func accept(_ line: LogLine) {
        send(line)
    }
}

extension DrainEvent {
    /// The line the app's log says it with (`slugrunner[drain]: …`).
    public func logLine(_ drain: LogDrain) -> LogLine {
        switch self {
        case .unreachable(let why):
            .runner(
                "drain", "Drain \(drain.token) (\(drain.url)) is unreachable (\(why)); its lines wait in its buffer")
        case .recovered:
            .runner("drain", "Drain \(drain.token) (\(drain.url)) delivers again")
        case .overflow(let dropped, let since):
            .runner(
                "drain",
                SyslogFormat.overflowText(
                    token: drain.token, dropped: dropped, since: Date(timeIntervalSince1970: since)))
        }
    }
}
