public import Foundation
public import SlipwayLogs

#if canImport(Glibc)
    import Glibc
#endif

/// RFC 5424 messages as Heroku's drains send them, and their framing: octet counting (RFC 6587) for syslog over TCP
/// and TLS, Logplex's batches for HTTPS.
///
/// ```
/// <190>1 2026-12-07T11:30:05.123456+00:00 myapp app web.1 - [drain@32473 token="d.9173ea1f-…"] Listening on 5000
/// ```
///
/// The app's name is the HOSTNAME, the line's source the APP-NAME (`app`, `slugrunner`) and its dyno or component the
/// PROCID (`web.1`, `router`), as Heroku's `app web.1` and `heroku router`; there is no MSGID. The drain's token is a
/// structured element, `drain@32473` (32473 is the enterprise number RFC 5612 sets aside for examples).
public enum SyslogFormat {
    /// The structured element's name.
    public static let structuredElement = "drain@32473"

    /// The priority (facility × 8 + severity): the dynos' lines local7.info (190), the router's local3.info (158),
    /// the runner's local0.info (134), as Heroku uses local0, local3 and local7.
    public static func priority(source: String, component: String) -> Int {
        if source == "app" { return 23 * 8 + 6 }
        if component == "router" { return 19 * 8 + 6 }
        return 16 * 8 + 6
    }

    /// The RFC 5424 message for `line` of app `app`, sent to the drain with `token` (no framing, no newline).
    public static func message(_ line: LogLine, app: String, token: String) -> String {
        let host = field(app, limit: 255)
        let appName = field(line.source, limit: 48)
        let procID = field(line.component, limit: 128)
        let pri = priority(source: line.source, component: line.component)
        return "<\(pri)>1 \(timestamp(line.date)) \(host) \(appName) \(procID) - "
            + "[\(structuredElement) token=\"\(parameterValue(token))\"] \(text(line.text))"
    }

    /// `message` octet-counted (RFC 6587, 3.4.1): its length in bytes, a space, the message.
    public static func octetCounted(_ message: String) -> [UInt8] {
        let bytes = Array(message.utf8)
        return Array("\(bytes.count) ".utf8) + bytes
    }

    /// A Logplex POST body: each message with a newline, octet-counted (the count includes the newline), one after
    /// the other, as Heroku's HTTPS drains send them.
    public static func logplexBody(_ messages: [String]) -> [UInt8] {
        var body: [UInt8] = []
        for message in messages { body += octetCounted(message + "\n") }
        return body
    }

    /// `2026-01-02T03:04:05.123456+00:00`: RFC 3339 in UTC with microseconds, as Heroku's lines have.
    public static func timestamp(_ date: Date) -> String {
        let interval = date.timeIntervalSince1970
        var seconds = time_t(interval.rounded(.down))
        let micros = Int(((interval - Double(seconds)) * 1_000_000).rounded(.down))
        var parts = tm()
        gmtime_r(&seconds, &parts)
        return String(
            format: "%04d-%02d-%02dT%02d:%02d:%02d.%06d+00:00", Int(parts.tm_year) + 1900, Int(parts.tm_mon) + 1,
            Int(parts.tm_mday), Int(parts.tm_hour), Int(parts.tm_min), Int(parts.tm_sec), min(max(micros, 0), 999_999))
    }

    /// A header field: printable ASCII without spaces (anything else becomes `_`), at most `limit` characters, `-`
    /// when empty.
    static func field(_ value: String, limit: Int) -> String {
        let scalars = value.unicodeScalars.prefix(limit).map { (0x21...0x7e).contains($0.value) ? $0 : "_" }
        return scalars.isEmpty ? "-" : String(String.UnicodeScalarView(scalars))
    }

    /// A structured parameter's value, with `"`, `\` and `]` escaped (RFC 5424, 6.3.3).
    static func parameterValue(_ value: String) -> String {
        var escaped = ""
        for character in value {
            if character == "\"" || character == "\\" || character == "]" { escaped.append("\\") }
            escaped.append(character)
        }
        return escaped
    }

    /// The message text: control characters other than tab become `?`, so a process cannot forge lines or frames.
    static func text(_ value: String) -> String {
        guard value.utf8.contains(where: { $0 < 0x20 && $0 != 0x09 || $0 == 0x7f }) else { return value }
        return String(
            String.UnicodeScalarView(
                value.unicodeScalars.map { $0.value < 0x20 && $0 != "\t" || $0.value == 0x7f ? "?" : $0 }))
    }

    /// The L10 line a drain's overflow is reported with, Heroku's wording.
    public static func overflowText(token: String, dropped: Int, since: Date) -> String {
        "Error L10 (output buffer overflow): drain '\(token)' dropped \(dropped) messages since \(timestamp(since))."
    }
}
