public import Foundation

/// Why Caddy could not get a certificate, from its own log (JSON lines at level `error`): the ACME client's
/// `challenge failed` lines carry the CA's problem for the host (`problem_type`, `error`); the `tls.obtain` line
/// `could not get certificate from issuer` ends the attempt (`identifier`), and Caddy tries again with its backoff.
public enum CertificateFailures {
    /// One failed attempt.
    public struct Failure: Equatable, Sendable {
        public var host: String
        /// When Caddy logged it.
        public var date: Date
        /// The reason, in one line a user can act on (``reason(_:host:)``).
        public var reason: String
    }

    /// The latest failure of each host named in the log lines `text`.
    public static func latest(in text: String) -> [String: Failure] {
        var failures: [String: Failure] = [:]
        var problems: [String: String] = [:]
        for line in text.split(separator: "\n") where line.contains("\"error\"") {
            guard let object = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
                object["level"] as? String == "error", let host = (object["identifier"] as? String)?.lowercased(),
                let error = object["error"] as? String
            else { continue }
            switch object["logger"] as? String {
            case "http.acme_client":
                // The CA's own words for the challenge it could not validate.
                if let type = object["problem_type"] as? String {
                    problems[host] = "\(type) - \(error)"
                } else if error.contains("urn:ietf:params:acme:error:") {
                    problems[host] = error
                }
            case "tls.obtain":
                let date = (object["ts"] as? Double).map(Date.init(timeIntervalSince1970:)) ?? Date.distantPast
                failures[host] = Failure(host: host, date: date, reason: reason(problems[host] ?? error, host: host))
                problems[host] = nil
            default:
                continue
            }
        }
        return failures
    }

    /// The CA's answer made into one line: the ACME problem's own detail when there is one (`urn:ietf:params:acme:
    /// error:<type> - <detail>`), with what to do for the usual ones.
    public static func reason(_ error: String, host: String) -> String {
        let marker = "urn:ietf:params:acme:error:"
        guard let range = error.range(of: marker, options: .backwards) else {
            if error.contains("dial tcp") || error.contains("connection refused") {
                return "the ACME CA could not be reached; the router tries again"
            }
            return "the ACME CA refused the order; the router tries again"
        }
        let rest = error[range.upperBound...]
        let type = rest.prefix { $0.isLetter || $0 == "-" || $0.isNumber }
        var detail = rest.dropFirst(type.count).drop { $0 == " " || $0 == "-" }
        if let end = detail.firstIndex(where: { $0 == "\n" }) { detail = detail[..<end] }
        let short = String(detail.prefix(240))
        switch type {
        case "rateLimited":
            return "the CA's rate limit is reached (\(short)); the router tries again later"
        case "unauthorized", "connection", "dns", "incorrectResponse", "tls":
            return "the CA could not check that \(host) points at this router (\(type): \(short)): point its DNS "
                + "at the router's address; the router tries again"
        case "rejectedIdentifier", "caa":
            return "the CA will not issue for \(host) (\(type): \(short))"
        default:
            return "the CA refused the order (\(type): \(short)); the router tries again"
        }
    }
}
