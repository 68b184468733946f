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

    enum CodingKeys: String, CodingKey {
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

    static func hash(_ secret: String) -> String {
        SHA256.hash(data: Data(secret.utf8)).map { String(format: "%02x", $0) }.joined()
    }

    static func randomHex(bytes count: Int) -> String {
        var generator = SystemRandomNumberGenerator()
        return (0..<count).map { _ in String(format: "%02x", UInt8.random(in: 0...255, using: &generator)) }.joined()
    }

    static func timestamp(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }

    static func parseTimestamp(_ text: String) -> Date? { ISO8601DateFormatter().date(from: text) }
}

/// Failed logins of the HTTP door, counted twice: per client address, and per credential tried (the SHA-256 of the
/// presented secret, since a token carries no id of its own), each allowed `limit` failures a `window`. Past either
/// limit a wrong credential gets 429 instead of 401; a correct one is never refused, whoever failed before it from
/// the same address (a proxy, a NAT, the same machine) or with the same wrong token.
public struct LoginLimiter: Sendable {
    var addresses: FailureLimiter
    var credentials: FailureLimiter

    public init(limit: Int = 10, window: TimeInterval = 60) {
        addresses = FailureLimiter(limit: limit, window: window)
        credentials = FailureLimiter(limit: limit, window: window)
    }

    /// Counts a failed login with `secret` from `address`; returns whether the address or the credential was already
    /// over its limit (the answer is 429, not 401).
    public mutating func failed(_ secret: String, from address: String, now: Date = Date()) -> Bool {
        failed(secret, from: [address], now: now)
    }

    /// Counts a failed login with `secret` against each of `addresses` (the candidates when a proxy's forwarding
    /// headers disagree); returns whether any of them, or the credential, was already over its limit.
    public mutating func failed(_ secret: String, from addresses: [String], now: Date = Date()) -> Bool {
        let credential = "credential " + TokenStore.hash(String(secret.prefix(256)))
        var blocked = credentials.isBlocked(credential, now: now)
        for address in addresses {
            blocked = self.addresses.isBlocked(address, now: now) || blocked
            self.addresses.recordFailure(address, now: now)
        }
        credentials.recordFailure(credential, now: now)
        return blocked
    }
}

/// Failures per key (a client address, a credential): after `limit` failures within `window` seconds, the key is
/// over its limit until the window has passed since its first failure.
public struct FailureLimiter: Sendable {
    public var limit: Int
    public var window: TimeInterval
    private var failures: [String: (first: Date, count: Int)] = [:]

    public init(limit: Int = 10, window: TimeInterval = 60) {
        self.limit = limit
        self.window = window
    }

    /// How many keys are remembered.
    public var count: Int { failures.count }

    /// Whether `address` is refused at `now`.
    public mutating func isBlocked(_ address: String, now: Date = Date()) -> Bool {
        guard let entry = failures[address] else { return false }
        if now.timeIntervalSince(entry.first) >= window {
            failures[address] = nil
            return false
        }
        return entry.count >= limit
    }

    /// The most keys remembered: past it, expired ones are forgotten, then (a flood of made-up credentials) all but
    /// those over their limit, which stay refused.
    public static let capacity = 10_000

    /// Counts a failure of `address` (or any key).
    public mutating func recordFailure(_ address: String, now: Date = Date()) {
        if failures.count > Self.capacity {
            failures = failures.filter { now.timeIntervalSince($0.value.first) < window }
            if failures.count > Self.capacity { failures = failures.filter { $0.value.count >= limit } }
        }
        if let entry = failures[address], now.timeIntervalSince(entry.first) < window {
            failures[address] = (entry.first, entry.count + 1)
        } else {
            failures[address] = (now, 1)
        }
    }
}
