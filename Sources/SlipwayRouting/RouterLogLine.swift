public import Foundation
import SlipwaySpool

/// One request as the router logs it in the app's log, Heroku's router format:
///
/// ```
/// at=info method=GET path="/" host=python-app.localhost request_id=5b0… fwd="127.0.0.1" dyno=web.1 connect=0ms service=3ms status=200 bytes=12 protocol=http
/// at=error code=H12 desc="Request timeout" method=GET path="/slow" host=… dyno=web.2 connect=0ms service=30001ms status=503 bytes=1022 protocol=http
/// ```
///
/// Made from one line of Caddy's JSON access log (``CaddyConfig``). The path, the host and the request id come from
/// the client: values are written bare only when made of safe characters, otherwise quoted with `"` and `\` escaped
/// and control characters as `\xNN`, so no request can break the line's format or add a line. (Caddy 2.6 does not
/// log the time it took to connect to the dyno: `connect` is always 0 ms.)
public struct RouterLogLine: Equatable, Sendable {
    /// The app the request was for.
    public var app: String
    /// The text of the line (without timestamp or source).
    public var line: String
    /// When Caddy logged the request (its end).
    public var date: Date
    /// The figures of the line, for the metrics: the answering dyno (empty for none), the HTTP status, the router
    /// error's code (`H12`) if any, and the service time in milliseconds, unrounded.
    public var dyno = ""
    public var status = 0
    public var code: String?
    public var serviceMilliseconds = 0.0

    public init(app: String, line: String, date: Date) {
        self.app = app
        self.line = line
        self.date = date
    }

    /// The longest path written; the rest is cut (a request line can be 1 MB long).
    static let maxPathLength = 1024

    /// The line for one access-log entry; nil for a line that is not a request of an app (a host no app answers
    /// at, another logger's line, a malformed line).
    public init?(accessLogLine data: Data) {
        guard let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
            let request = object["request"] as? [String: Any],
            let tag = (object["user_id"] as? String)?.split(separator: " ", omittingEmptySubsequences: false),
            tag.count == 3, AppName.isValid(String(tag[0]))
        else { return nil }
        let dyno = tag[1] == "-" ? "" : String(tag[1])
        let code = RouterErrorCode(rawValue: String(tag[2]))
        let status = (object["status"] as? NSNumber)?.intValue ?? 0
        let bytes = (object["size"] as? NSNumber)?.intValue ?? 0
        let seconds = (object["duration"] as? NSNumber)?.doubleValue ?? 0
        let headers = object["resp_headers"] as? [String: Any]
        let requestID = (headers?["X-Request-Id"] as? [String])?.first ?? ""

        var fields: [String] = []
        if let code {
            fields += ["at=error", "code=\(code.rawValue)", "desc=\(Self.quoted(code.words))"]
        } else {
            fields.append("at=info")
        }
        var path = request["uri"] as? String ?? ""
        if path.count > Self.maxPathLength { path = String(path.prefix(Self.maxPathLength)) + "..." }
        fields += [
            "method=\(Self.bare(request["method"] as? String ?? ""))",
            "path=\(Self.quoted(path))",
            "host=\(Self.bare(request["host"] as? String ?? ""))",
            "request_id=\(Self.bare(requestID))",
            "fwd=\(Self.quoted(request["remote_ip"] as? String ?? ""))",
            "dyno=\(Self.bare(dyno))",
            "connect=0ms",
            "service=\(Int((seconds * 1000).rounded()))ms",
            "status=\(status)",
            "bytes=\(bytes)",
            "protocol=\(request["tls"] == nil ? "http" : "https")",
        ]
        let timestamp = (object["ts"] as? NSNumber)?.doubleValue
        self.init(
            app: String(tag[0]), line: fields.joined(separator: " "),
            date: timestamp.map { Date(timeIntervalSince1970: $0) } ?? Date())
        self.dyno = dyno
        self.status = status
        self.code = code?.rawValue
        self.serviceMilliseconds = max(0, seconds * 1000)
    }

    /// `value` as it is when every character is safe in a bare value, else quoted.
    static func bare(_ value: String) -> String {
        let safe = value.unicodeScalars.allSatisfy { scalar in
            scalar.isASCII
                && (CharacterSet.alphanumerics.contains(scalar) || "-._:/+=[]@~".unicodeScalars.contains(scalar))
        }
        return safe ? value : quoted(value)
    }

    /// `value` in double quotes: `"` and `\` escaped with `\`, control characters as `\xNN`, line and paragraph
    /// separators as `\u2028` and `\u2029`.
    static func quoted(_ value: String) -> String {
        var text = "\""
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case _ where scalar.value < 0x20 || (0x7f...0x9f).contains(scalar.value):
                text += "\\x" + String(scalar.value, radix: 16).leftPadded(to: 2)
            case "\u{2028}", "\u{2029}": text += "\\u" + String(scalar.value, radix: 16)
            default: text.unicodeScalars.append(scalar)
            }
        }
        return text + "\""
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
