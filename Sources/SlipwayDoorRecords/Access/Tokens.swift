import Crypto
public import Foundation
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// One API token, as stored: never the token itself, only its SHA-256.
public struct APIToken: Codable, Equatable, Sendable {
    /// A short random id, for `tokens list` and `tokens revoke`.
    public var id: String
    /// The user the token authenticates as.
    public var user: String
    /// The token's SHA-256, hex. Tokens are 160 random bits, so a fast hash is as good as a slow one.
    public var hash: String
    /// ISO 8601, UTC.
    public var createdAt: String
    /// ISO 8601, UTC; nil until first used. Updated at most once a minute.
    public var lastUsedAt: String?

    public enum CodingKeys: String, CodingKey {
        case id, user, hash
        case createdAt = "created_at"
        case lastUsedAt = "last_used_at"
    }
}

/// The API tokens of the HTTP door, `<root>/tokens.json` (mode 0600): HTTP Basic, any user name, a token as the
/// password, as Heroku's git service. A token is printed once, when created; only its hash is kept.
public struct TokenStore: Sendable {
    public let path: String

    public init(root: SlipwayRoot) {
        path = "\(root.path)/tokens.json"
    }

    /// Every token, oldest first.
    public func list() throws -> [APIToken] {
        guard let data = try StateFiles.contents(of: path), !data.isEmpty else { return [] }
        do {
            return try JSONDecoder().decode([APIToken].self, from: data)
        } catch {
            throw DoorError(.storage, "slipway: \(path) is not a valid token file: \(error); restore it from a backup")
        }
    }

    /// Creates a token for `user`; returns the secret (shown once) and its record.
    public func create(user: String, now: Date = Date()) throws -> (secret: String, token: APIToken) {
        try UserName.validate(user)
        let secret = "slw_" + Self.randomHex(bytes: 20)
        let token = APIToken(
            id: Self.randomHex(bytes: 4), user: user, hash: Self.hash(secret), createdAt: Self.timestamp(now),
            lastUsedAt: nil)
        try update { $0.append(token) }
        return (secret, token)
    }

    /// Revokes the token `id`; throws `notFound` if there is none. A user (not the operator) may revoke only theirs.
    public func revoke(id: String, as user: String? = nil) throws {
        try update { tokens in
            guard let index = tokens.firstIndex(where: { $0.id == id && (user == nil || $0.user == user) }) else {
                throw DoorError(
                    .notFound, "slipway: no token \(TerminalText.printable(id)) (tokens list shows the ids)")
            }
            tokens.remove(at: index)
        }
    }

    /// The token whose secret is `secret`, nil for none. Compares hashes in constant time.
    public func verify(_ secret: String) throws -> APIToken? {
        guard secret.hasPrefix("slw_"), secret.utf8.count < 128 else { return nil }
        let presented = Array(Self.hash(secret).utf8)
        var found: APIToken?
        for token in try list() where Self.constantTimeEqual(Array(token.hash.utf8), presented) {
            found = token
        }
        return found
    }

    /// Records that token `id` was used, unless it was within the last minute (so a busy token costs no writes).
    public func markUsed(id: String, now: Date = Date()) throws {
        guard let token = try list().first(where: { $0.id == id }) else { return }
        if let last = token.lastUsedAt.flatMap(Self.parseTimestamp), now.timeIntervalSince(last) < 60 { return }
        try update { tokens in
            for index in tokens.indices where tokens[index].id == id { tokens[index].lastUsedAt = Self.timestamp(now) }
        }
    }

    private func update(_ change: (inout [APIToken]) throws -> Void) throws {
        try StateFiles.withExclusiveLock("\(path).lock") {
            var tokens = try list()
            try change(&tokens)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try StateFiles.writeAtomically(try encoder.encode(tokens), to: path, mode: 0o600)
        }
    }

    /// Whether `a` and `b` are equal, in time that depends on their lengths only.
    public static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
        guard a.count == b.count else { return false }
        var difference: UInt8 = 0
        for index in a.indices { difference |= a[index] ^ b[index] }
        return difference == 0
    }

    /// The SHA-256 of `secret` in hex: what the store keeps of a token, and how the door counts a credential tried.
    public static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    public static func randomHex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    public static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    public static func parseTimestamp(_ text: String) -> Date? { ISO8601DateFormatter().date(from: text) }
}
