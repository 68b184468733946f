import Foundation

/// `3.2s`, `2m05s`: how long a build step or a session took, as people read it.
public func formatDuration(_ duration: Duration) -> String {
    let seconds = Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    if seconds < 60 { return String(format: "%.1fs", seconds) }
    let whole = Int(seconds)
    return String(format: "%dm%02ds", whole / 60, whole % 60)
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
