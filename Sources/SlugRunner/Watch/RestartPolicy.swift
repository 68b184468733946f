/// When a crashed process starts again: exponential backoff (1 s, 2 s, 4 s… up to a cap), started over once a
/// process has run long enough to count as healthy. A run of quick crashes is a crash loop: reported once, then
/// retried at the capped delay, never spun.
public struct RestartPolicy: Equatable, Sendable {
    /// The delay after the first crash.
    public var initialDelay: Duration
    /// The longest delay.
    public var maximumDelay: Duration
    /// A process that ran at least this long before it exited was healthy: the next crash starts the schedule over.
    public var stableAfter: Duration
    /// This many crashes in a row, each before ``stableAfter``, make a crash loop.
    public var crashLoopThreshold: Int

    public init(
        initialDelay: Duration = .seconds(1), maximumDelay: Duration = .seconds(300),
        stableAfter: Duration = .seconds(60),
        crashLoopThreshold: Int = 5
    ) {
        self.initialDelay = initialDelay
        self.maximumDelay = max(initialDelay, maximumDelay)
        self.stableAfter = stableAfter
        self.crashLoopThreshold = max(1, crashLoopThreshold)
    }

    /// The delay before restarting after `crashes` crashes in a row (1 for the first): `initialDelay × 2^(n-1)`,
    /// at most `maximumDelay`.
    public func delay(afterCrashes crashes: Int) -> Duration {
        var delay = initialDelay
        for _ in 1..<max(1, crashes) {
            delay = delay * 2
            if delay >= maximumDelay { return maximumDelay }
        }
        return min(delay, maximumDelay)
    }
}

/// One process slot's crash history under a ``RestartPolicy``.
public struct CrashTracker: Equatable, Sendable {
    /// Crashes in a row, each before the policy's `stableAfter`.
    public private(set) var consecutiveCrashes = 0

    public init() {}

    /// What to do after one exit.
    public struct Decision: Equatable, Sendable {
        /// How long to wait before starting the process again.
        public var delay: Duration
        /// Whether this exit made the run of crashes a crash loop (true once per loop, to report it).
        public var crashLoopStarted: Bool
        /// Whether the process is in a crash loop.
        public var inCrashLoop: Bool
    }

    /// Records an exit after the process ran for `runTime`, and returns when to restart it.
    public mutating func recordExit(after runTime: Duration, policy: RestartPolicy) -> Decision {
        consecutiveCrashes = runTime >= policy.stableAfter ? 1 : consecutiveCrashes + 1
        return Decision(
            delay: policy.delay(afterCrashes: consecutiveCrashes),
            crashLoopStarted: consecutiveCrashes == policy.crashLoopThreshold,
            inCrashLoop: consecutiveCrashes >= policy.crashLoopThreshold)
    }
}
