public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// One line of an app's log, Heroku's format: `<timestamp> <source>[<dyno or component>]: <text>`.
///
/// ```
/// 2026-01-02T03:04:05.123456+00:00 app[web.1]: Listening at: http://0.0.0.0:5123
/// 2026-01-02T03:04:05.234567+00:00 slugrunner[web.1]: State changed from starting to up
/// 2026-01-02T03:04:05.345678+00:00 slugrunner[deploy]: Deployed v3, stopping v2
/// ```
///
/// `app[…]` lines are what the processes printed (stdout and stderr); `slugrunner[…]` lines are the runner's
/// events.
public struct LogLine: Equatable, Sendable {
    /// When the line was written.
    public var date: Date
    /// `app` or `slugrunner`.
    public var source: String
    /// The dyno (`web.1`, `release.1`) or the runner's component (`deploy`, `watch`).
    public var component: String
    /// The text, without a newline.
    public var text: String

    public init(date: Date = Date(), source: String, component: String, text: String) {
        self.date = date
        self.source = source
        self.component = component
        self.text = text
    }

    /// A line printed by process `dyno`.
    public static func app(_ dyno: String, _ text: String, date: Date = Date()) -> LogLine {
        LogLine(date: date, source: "app", component: dyno, text: text)
    }

    /// A runner event about `component`.
    public static func runner(_ component: String, _ text: String, date: Date = Date()) -> LogLine {
        LogLine(date: date, source: "slugrunner", component: component, text: text)
    }

    /// The line as written to the log, without the newline. Control characters other than tab in the text are
    /// replaced by `?`, so a process cannot forge extra lines or terminal escapes in the log.
    public var formatted: String {
        let clean = String(
            String.UnicodeScalarView(
                text.unicodeScalars.map { scalar in
                    scalar.value < 0x20 && scalar != "\t" || scalar.value == 0x7f ? "?" : scalar
                }))
        return "\(Self.timestamp(date)) \(source)[\(component)]: \(clean)"
    }

    /// `2026-01-02T03:04:05.123456+00:00`: ISO 8601 in UTC with microseconds, as Heroku's log lines have.
    public static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let micros = Int(((interval - Double(seconds)) * 1_000_000).rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), min(micros, 999_999))
    }
}

/// Cuts a process's output into lines as the bytes arrive. A line longer than `maxLineLength` bytes is cut, so a
/// process that never prints a newline cannot make the runner's memory grow. Invalid UTF-8 becomes U+FFFD.
public struct OutputLines: Sendable {
    private var pending: [UInt8] = []
    public let maxLineLength: Int

    public init(maxLineLength: Int = 16 * 1024) {
        self.maxLineLength = maxLineLength
    }

    /// Adds `bytes`; returns the lines they complete, without newlines (and without a `\r` before one).
    public mutating func append(_ bytes: UnsafeRawBufferPointer) -> [String] {
        append(bytes) { true }.lines
    }

    /// Adds `bytes`; returns the lines they complete for which `keep` says yes, and how many it refused. A refused
    /// line is never made into a string, so a flood of lines that are dropped costs little more than finding their
    /// ends.
    public mutating func append(_ bytes: UnsafeRawBufferPointer, keep: () -> Bool) -> (lines: [String], dropped: Int) {
        var lines: [String] = []
        var dropped = 0
        guard let base = bytes.baseAddress else { return (lines, dropped) }
        func complete(_ start: Int, _ end: Int) {
            if keep() {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: end - start))
                lines.append(Self.text(pending))
            } else {
                dropped += 1
            }
            pending.removeAll(keepingCapacity: true)
        }
        var start = 0
        while start < bytes.count {
            let room = maxLineLength - pending.count
            // The newline ending the line, within its longest length (a newline right after it ends it too).
            let span = min(bytes.count - start, room + 1)
            if let hit = memchr(base + start, 0x0a, span) {
                let end = base.distance(to: UnsafeRawPointer(hit))
                complete(start, end)
                start = end + 1
            } else if span == room + 1 {
                complete(start, start + room)  // cut at the longest length; the next byte starts the next line
                start += room
            } else {
                pending.append(contentsOf: UnsafeRawBufferPointer(start: base + start, count: bytes.count - start))
                start = bytes.count
            }
        }
        return (lines, dropped)
    }

    /// The last line when it had no newline yet.
    public mutating func finish() -> String? {
        defer { pending.removeAll() }
        return pending.isEmpty ? nil : Self.text(pending)
    }

    private static func text(_ bytes: [UInt8]) -> String {
        var line = String(decoding: bytes, as: UTF8.self)
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}
