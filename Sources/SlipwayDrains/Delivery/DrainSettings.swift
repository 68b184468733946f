/// How every drain of a runner buffers and retries (`slugrunner watch --drain-buffer`, `--drain-ca`).
public struct DrainSettings: Sendable, Equatable {
    /// Lines each drain keeps while it is slow or down; past it, the oldest are dropped and counted (L10). The
    /// default holds a dyno's whole burst at the default log rate (ten seconds' worth of 1000 lines a second), about
    /// 2.5 MB for lines of 200 bytes.
    public var bufferLines = 10_000
    /// A CA bundle (PEM) that TLS drains' certificates may chain to, besides the system's roots.
    public var caBundle: String?
    /// The most lines in one write (syslog) or one POST (HTTPS).
    public var batchLines = 500
    /// The first wait before connecting again after a failure; it doubles after each failure, up to
    /// ``maximumBackoff``.
    public var initialBackoff: Duration = .milliseconds(250)
    public var maximumBackoff: Duration = .seconds(10)
    /// The least time between two L10 lines of one drain that cannot keep up (the first comes as soon as it
    /// delivers again).
    public var overflowInterval: Duration = .seconds(10)

    public init(bufferLines: Int = 10_000, caBundle: String? = nil) {
        self.bufferLines = bufferLines
        self.caBundle = caBundle
    }
}

/// What a drain tells its owner, to be written to the app's log (and so sent to the drains).
public enum DrainEvent: Sendable, Equatable {
    /// The drain stopped delivering (the first failure of an outage): why, in one line.
    case unreachable(String)
    /// The drain delivers again after an outage.
    case recovered
    /// Lines were dropped from the full buffer (Heroku's L10), reported once the drain delivers again.
    case overflow(dropped: Int, since: Double)
}
