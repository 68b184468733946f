public import Foundation

/// `3.2s`, `2m05s`: how long a build step or a session took, as people read it.
public func formatDuration(_ duration: Duration) -> String {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    let whole = Int(seconds)
    return String(format: "%dm%02ds", whole / 60, whole % 60)
}

/// `2026/11/30 01:02:03 +0000`: a moment in UTC, as `heroku ps` writes when a dyno started.
public func formatClockTime(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy/MM/dd HH:mm:ss Z"
    return formatter.string(from: date)
}

/// `12s`, `5m`, `3h`, `2d`: roughly how long ago, as `heroku ps` writes it after `~ `.
public func formatAge(seconds: Int) -> String {
    switch seconds {
    case ..<60: "\(seconds)s"
    case ..<3600: "\(seconds / 60)m"
    case ..<86400: "\(seconds / 3600)h"
    default: "\(seconds / 86400)d"
    }
}

extension Duration {
    /// The duration in whole milliseconds.
    public var wholeMilliseconds: Int64 {
        components.seconds * 1000 + components.attoseconds / 1_000_000_000_000_000
    }
}
