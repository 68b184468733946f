import Foundation
import SlipwaySystem

/// What a webhook may be told about: Heroku's entity names.
public enum WebhookEntity: String, Codable, Sendable, CaseIterable {
    case build = "api:build"
    case release = "api:release"

    /// The entities in `--include`'s value: `release,build` or Heroku's `api:release,api:build`, in any order.
    public static func parseList(_ value: String) throws(WebhookError) -> [WebhookEntity] {
        var entities: [WebhookEntity] = []
        for word in value.split(separator: ",", omittingEmptySubsequences: false) {
            let name = word.trimmingCharacters(in: .whitespaces).lowercased()
            guard let entity = Self(rawValue: name) ?? Self(rawValue: "api:\(name)") else {
                throw WebhookError(
                    "'\(TerminalText.printable(String(word), limit: 40))' is not an event: --include takes "
                        + "release, build or both (release,build)")
            }
            if !entities.contains(entity) { entities.append(entity) }
        }
        return entities.sorted { $0.rawValue < $1.rawValue }
    }
}

/// One subscription of an app: where its events go, which ones, and the secret that signs them.
public struct AppWebhook: Codable, Equatable, Sendable {
    public var id: String
    public var url: String
    public var include: [WebhookEntity]
    public var secret: String
    /// ISO 8601, UTC.
    public var createdAt: String

    enum CodingKeys: String, CodingKey {
        case id, url, include, secret
        case createdAt = "created_at"
    }

    public init(id: String, url: String, include: [WebhookEntity], secret: String, createdAt: String) {
        self.id = id
        self.url = url
        self.include = include
        self.secret = secret
        self.createdAt = createdAt
    }

    /// A secret for a webhook added without one: 32 random bytes, hex.
    public static func generatedSecret() -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<32).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    /// A secret given with `--secret`: 8 to 200 printable ASCII characters, no spaces.
    public static func checkedSecret(_ secret: String) throws(WebhookError) -> String {
        guard (8...200).contains(secret.utf8.count), secret.utf8.allSatisfy({ (0x21...0x7e).contains($0) }) else {
            throw WebhookError(
                "the secret must be 8 to 200 printable characters without spaces; leave --secret out to get one made")
        }
        return secret
    }

    /// `url` if it is a URL a webhook can be sent to: `http` or `https`, a host, an optional port, no user or
    /// password (the signature authenticates the sender), at most 2,000 characters.
    public static func checkedURL(_ url: String) throws(WebhookError) -> String {
        let refusal = WebhookError(
            "'\(TerminalText.printable(url, limit: 200))' is not a webhook URL: give http:// or https://, a host and "
                + "an optional port, as in https://example.com/hooks/slipway")
        guard url.utf8.count <= 2000, url.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value < 0x7f }),
            let parts = URLComponents(string: url), let scheme = parts.scheme?.lowercased(),
            scheme == "http" || scheme == "https", let host = parts.host, !host.isEmpty, parts.fragment == nil
        else { throw refusal }
        if let port = parts.port, !(1...65535).contains(port) { throw refusal }
        if parts.user != nil || parts.password != nil {
            throw WebhookError(
                "put no user or password in a webhook URL: the receiver checks the signature made with the secret")
        }
        return url
    }
}

/// A webhook command's refusal, or a failure of the webhook files: one line a user can act on.
public struct WebhookError: Error, CustomStringConvertible, Sendable {
    public let description: String
    public init(_ description: String) { self.description = description }
}
