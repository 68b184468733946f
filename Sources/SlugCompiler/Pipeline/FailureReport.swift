import Foundation
public import SlipwaySystem

/// The one block a failed build ends with: Heroku's headline, then the phase, buildpack, exit code, elapsed time and
/// the last lines the buildpack printed.
struct FailureReport {
    var error: BuildError
    var elapsed: Duration
    var lastLines: [String]
    var pushWording: Bool
    /// Extra `key: value` lines (the push hook adds the build id and the command that shows the whole log).
    var extra: [(String, String)] = []

    /// The headline scripts match on: `Failed to compile Python app.`, or with the push wording
    /// `Push rejected, failed to compile Python app.`
    var headline: String {
        guard error.code == .compileFailed || error.code == .compileTimedOut, let name = error.buildpack else {
            return pushWording ? "Push rejected: \(error.message)" : error.message
        }
        return pushWording ? "Push rejected, failed to compile \(name) app." : "Failed to compile \(name) app."
    }

    func print(to console: Console) {
        console.blank()
        console.error(headline)
        // Said once: `Push rejected: <message>` already holds the message.
        if headline != error.message && headline != "Push rejected: \(error.message)" {
            console.error(error.message)
        }
        if let hint = error.hint { console.error(hint) }
        console.error("")
        var rows: [(String, String)] = [("phase", error.phase.rawValue)]
        if let buildpack = error.buildpack { rows.append(("buildpack", buildpack)) }
        if let status = error.processStatus { rows.append(("exit code", "\(status)")) }
        rows.append(("elapsed", formatDuration(elapsed)))
        rows.append(("slugc exit", "\(error.code.exitCode)"))
        rows += extra
        let width = rows.map(\.0.count).max() ?? 0
        for (key, value) in rows {
            console.error("\(key):" + String(repeating: " ", count: width - key.count + 2) + value)
        }
        if !lastLines.isEmpty {
            console.error("last \(lastLines.count) lines of output:")
            for line in lastLines { console.error("  " + line) }
        }
    }
}

extension BuildError {
    /// Prints this error as the one-block summary of a build that never started (bad flags, unreadable env file):
    /// the message and what to do, in Heroku's error format.
    public func print(to console: Console) {
        console.error(message)
        if let hint { console.error(hint) }
    }
}

/// `12.3M`, as Heroku prints slug sizes (MiB, one decimal).
func formatSize(_ bytes: Int64) -> String {
    String(format: "%.1fM", Double(bytes) / 1_048_576)
}
