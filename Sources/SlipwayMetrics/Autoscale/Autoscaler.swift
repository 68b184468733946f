public import SlipwaySpool

/// The autoscaling rule of a web formation, a pure decision (docs/metrics.md, "Autoscaling"):
///
/// - it looks at the p95 of the service times of the requests that ended in the last `window` (60 s unless
///   `slugrunner watch --autoscale-window` says otherwise), and only at those that ended since its last step;
/// - it adds a dyno when that p95 is above the target, and removes one when it is under half the target or no request
///   came at all: between half the target and the target it does nothing (the hysteresis);
/// - after a step it waits a whole window (the cooldown), so that the next decision sees only the new formation;
/// - it never leaves [min, max]: a formation outside them is brought back in at once, one step.
public struct Autoscaler: Sendable {
    /// A step to take.
    public struct Step: Equatable, Sendable {
        public var from: Int
        public var to: Int
        /// The p95 it was taken on, in ms; nil when no request came in the window.
        public var p95: Double?
        /// The seconds looked at.
        public var seconds: Int

        public init(from: Int, to: Int, p95: Double?, seconds: Int) {
            self.from = from
            self.to = to
            self.p95 = p95
            self.seconds = seconds
        }

        /// The app's log line, `web 1 → 2, p95 412 ms over 60 s`.
        public var summary: String {
            let figure = p95.map { "p95 \(Int($0.rounded())) ms" } ?? "no requests"
            return "web \(from) → \(to), \(figure) over \(seconds) s"
        }
    }

    /// The seconds looked at, and waited after each step.
    public var window: Double
    /// The fewest requests in the window for a p95 to count as high (a lone slow request is not a load).
    public var minimumRequests = 5
    /// When the last step was taken (seconds, the caller's clock), or when autoscaling began.
    public private(set) var lastStep: Double

    public init(window: Double, since start: Double) {
        self.window = window
        self.lastStep = start
    }

    /// The step to take now, if any, given the formation's `current` web count, the rule, and the service times of
    /// the requests that ended since `max(now - window, lastStep)` (``lookSince(now:)``).
    public mutating func decide(
        current: Int, rule: DynoSettings.Autoscale, times: ServiceTimes, now: Double
    ) -> Step? {
        let seconds = Int(window.rounded())
        if current < rule.min || current > rule.max {
            lastStep = now
            return Step(
                from: current, to: min(max(current, rule.min), rule.max), p95: times.percentile(0.95), seconds: seconds)
        }
        guard now - lastStep >= window else { return nil }
        let p95 = times.percentile(0.95)
        var target = current
        if let p95, times.count >= minimumRequests, p95 > Double(rule.p95) {
            target = current + 1
        } else if p95 == nil || (p95 ?? 0) < Double(rule.p95) / 2 {
            target = current - 1
        }
        target = min(max(target, rule.min), rule.max)
        guard target != current else { return nil }
        lastStep = now
        return Step(from: current, to: target, p95: p95, seconds: seconds)
    }

    /// Where the requests looked at begin: a window back, but not before the last step.
    public func lookSince(now: Double) -> Double {
        max(now - window, lastStep)
    }
}
