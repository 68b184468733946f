public import Foundation
import SlipwayDoorRecords
import SlipwayReceive

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
