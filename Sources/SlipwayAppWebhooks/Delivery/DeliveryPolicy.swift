import Foundation

/// How hard a delivery is tried: `attempts` tries in all, the first retry `firstRetry` seconds after a failure and
/// each later one twice as long after the previous (at most an hour apart), each attempt given `timeout` seconds for
/// the receiver's answer. The defaults, 8 tries from 30 s apart, span about an hour (30 s + 1 min + … + 32 min).
public struct DeliveryPolicy: Sendable, Equatable {
    public var attempts: Int
    public var firstRetry: Double
    public var timeout: Double
    /// Whether receivers on this server or its private networks are allowed (``ReceiverAddress``).
    public var allowPrivate: Bool

    public init(attempts: Int = 8, firstRetry: Double = 30, timeout: Double = 10, allowPrivate: Bool = false) {
        self.attempts = attempts
        self.firstRetry = firstRetry
        self.timeout = timeout
        self.allowPrivate = allowPrivate
    }

    /// The operator's settings: `SLIPWAY_WEBHOOK_ATTEMPTS` (1 to 50), `SLIPWAY_WEBHOOK_RETRY_SECONDS` (the first
    /// retry's delay), `SLIPWAY_WEBHOOK_TIMEOUT_SECONDS` (0.1 to 60); a missing or wrong value keeps the default.
    public static func from(environment: [String: String]) -> DeliveryPolicy {
        var policy = DeliveryPolicy(allowPrivate: ReceiverAddress.privateAllowed(environment))
        if let value = environment[Variable.attempts].flatMap(Int.init), (1...50).contains(value) {
            policy.attempts = value
        }
        if let value = environment[Variable.firstRetry].flatMap(Double.init), value >= 0, value <= 86400 {
            policy.firstRetry = value
        }
        if let value = environment[Variable.timeout].flatMap(Double.init), value >= 0.1, value <= 60 {
            policy.timeout = value
        }
        return policy
    }

    /// The seconds to wait after failed attempt number `attempt` (1 for the first) before the next one.
    public func delay(afterAttempt attempt: Int) -> Double {
        min(firstRetry * pow(2, Double(max(0, attempt - 1))), 3600)
    }

    /// The environment variables that set it, which the door passes to the hooks and to the deliverer.
    public enum Variable {
        public static let attempts = "SLIPWAY_WEBHOOK_ATTEMPTS"
        public static let firstRetry = "SLIPWAY_WEBHOOK_RETRY_SECONDS"
        public static let timeout = "SLIPWAY_WEBHOOK_TIMEOUT_SECONDS"
        public static let all = [attempts, firstRetry, timeout, ReceiverAddress.allowPrivateVariable]
    }
}
