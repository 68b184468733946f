import Foundation

/// The budget every dyno gets for its log lines (`slugrunner watch --log-rate`): a rate kept up for ever, and a
/// burst a dyno that was quiet may print at once (ten seconds' worth).
public struct LogRate: Sendable, Equatable {
    /// Lines per second, kept up for ever.
    public var linesPerSecond: Int
    /// Lines at once after a quiet time.
    public var burst: Int

    /// 1000 lines per second, 10 000 at once.
    public static let standard = LogRate(linesPerSecond: 1000)

    public init(linesPerSecond: Int) {
        self.linesPerSecond = max(1, linesPerSecond)
        burst = self.linesPerSecond * 10
    }
}

/// How many lines one dyno may log: a token bucket of `linesPerSecond` refilled continuously, holding at most
/// `burst` lines (a dyno that was quiet may print that many at once). Past it, lines are dropped and counted, and
/// the dyno's log says how many, as Heroku's L10 and L11 errors do: a dyno that prints without end costs the runner
/// little and cannot push every other line out of its app's log.
public struct LogBudget: Sendable {
    public let rate: LogRate
    private var tokens: Double
    private var refilledAt: ContinuousClock.Instant
    /// Lines dropped since the last report.
    public private(set) var dropped = 0
    private var reportedAt: ContinuousClock.Instant

    public init(rate: LogRate, now: ContinuousClock.Instant) {
        self.rate = rate
        tokens = Double(rate.burst)
        refilledAt = now
        reportedAt = now
    }

    /// Whether one more line may be logged `now`; a line refused is counted.
    public mutating func admit(now: ContinuousClock.Instant) -> Bool {
        if now > refilledAt {
            let elapsed = now - refilledAt
            let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18
            tokens = min(Double(rate.burst), tokens + seconds * Double(rate.linesPerSecond))
            refilledAt = now
        }
        guard tokens >= 1 else {
            dropped += 1
            return false
        }
        tokens -= 1
        return true
    }

    /// The line saying how many lines of `dyno` were dropped, when some were and the last report is at least a second
    /// old (or `final`: the dyno's output ended); nil otherwise. The count starts again.
    public mutating func report(dyno: String, now: ContinuousClock.Instant, final: Bool = false) -> String? {
        guard dropped > 0, final || now - reportedAt >= .seconds(1) else { return nil }
        defer {
            dropped = 0
            reportedAt = now
        }
        return Self.overflowLine(dyno: dyno, dropped: dropped, linesPerSecond: rate.linesPerSecond)
    }

    /// `Error L11 (Tail buffer overflow) -> 1234 log lines dropped: web.1 logs faster than 1000 lines per second`.
    public static func overflowLine(dyno: String, dropped: Int, linesPerSecond: Int) -> String {
        "Error L11 (Tail buffer overflow) -> \(dropped) log line\(dropped == 1 ? "" : "s") dropped: \(dyno) logs "
            + "faster than \(linesPerSecond) lines per second"
    }
}
