public import Foundation
public import SlipwayLogs
public import SlipwaySpool

/// One drain of one app: a bounded buffer the app's log hands lines to, and a thread of its own that formats them
/// and delivers them in order, reconnecting with backoff. ``send(_:)`` never waits for the network: the app and the
/// runner go on while the drain is slow or down, and what does not fit in the buffer is dropped and counted (L10).
///
/// Delivery is at least once: a batch leaves the buffer when it is taken, and is sent again until it gets through
/// (or the drain is stopped).
public final class Drain: @unchecked Sendable {
    public let app: String
    public let drain: LogDrain
    public let url: LogDrainURL
    let settings: DrainSettings
    private let report: @Sendable (DrainEvent) -> Void
    private let condition = NSCondition()
    private var buffer: DrainBuffer<LogLine>
    private var stopping = false
    private var finished = false
    /// Lines delivered, for tests and the benchmark.
    private var deliveredCount = 0

    /// Starts the drain's thread. `report` is called on that thread, never with the drain's lock held.
    public init(
        app: String, drain: LogDrain, settings: DrainSettings, report: @escaping @Sendable (DrainEvent) -> Void
    ) throws(LogDrainURL.Refusal) {
        self.app = app
        self.drain = drain
        self.url = try LogDrainURL.parse(drain.url)
        self.settings = settings
        self.report = report
        self.buffer = DrainBuffer(capacity: settings.bufferLines)
        let thread = Thread { [self] in run() }
        thread.name = "drain-\(drain.token.prefix(10))"
        thread.start()
    }

    /// Hands `line` to the drain's buffer (dropping the oldest line when it is full). Cheap: no formatting, no I/O.
    public func send(_ line: LogLine) {
        condition.lock()
        if !stopping {
            buffer.append(line)
            if buffer.count == 1 { condition.signal() }
        }
        condition.unlock()
    }

    /// How many lines were delivered so far.
    public var delivered: Int { condition.withLock { deliveredCount } }

    /// Stops the drain: its thread sends what is buffered for at most `flush`, then ends (without waiting for it).
    public func stop(flush: Duration = .seconds(2)) {
        condition.lock()
        stopping = true
        stopDeadline = Date().addingTimeInterval(flush.seconds)
        condition.broadcast()
        condition.unlock()
    }

    private var stopDeadline = Date.distantFuture

    /// Waits until the drain's thread has ended (after ``stop(flush:)``), at most until `deadline`.
    public func waitUntilFinished(deadline: Date) {
        condition.lock()
        while !finished && Date() < deadline { _ = condition.wait(until: deadline) }
        condition.unlock()
    }

    private func run() {
        var transport: DrainTransport?
        var pending: [LogLine] = []
        var backoff = settings.initialBackoff
        var failing = false
        var nextOverflowReport = Date.distantPast
        while true {
            condition.lock()
            while pending.isEmpty && buffer.isEmpty && !stopping { condition.wait() }
            if stopping && (pending.isEmpty && buffer.isEmpty || Date() >= stopDeadline) {
                condition.unlock()
                break
            }
            if pending.isEmpty { pending = buffer.take(settings.batchLines) }
            condition.unlock()
            do {
                if transport == nil {
                    transport = try makeTransport(url, token: drain.token, caBundle: settings.caBundle)
                }
                try transport?.deliver(pending.map { SyslogFormat.message($0, app: app, token: drain.token) })
                let count = pending.count
                pending = []
                backoff = settings.initialBackoff
                // The drops are reported once the drain delivers again, then at most every `overflowInterval` while
                // it cannot keep up, so that the L10 lines do not add to the flood.
                let now = Date()
                let dropped = condition.withLock { () -> (count: Int, since: Date)? in
                    deliveredCount += count
                    guard now >= nextOverflowReport || failing else { return nil }
                    let dropped = buffer.takeDropped()
                    // The next batch leaves the buffer before the drain says anything: the lines saying it go to
                    // this drain too, and into a full buffer each would push out a line the L10 did not count.
                    if dropped != nil || failing { pending = buffer.take(settings.batchLines) }
                    return dropped
                }
                if dropped != nil { nextOverflowReport = now.addingTimeInterval(settings.overflowInterval.seconds) }
                if failing {
                    failing = false
                    report(.recovered)
                }
                if let dropped {
                    report(.overflow(dropped: dropped.count, since: dropped.since.timeIntervalSince1970))
                }
            } catch {
                transport?.close()
                if !failing {
                    failing = true
                    report(.unreachable("\(error)"))
                }
                condition.lock()
                if !stopping { _ = condition.wait(until: Date().addingTimeInterval(backoff.seconds)) }
                condition.unlock()
                backoff = min(backoff * 2, settings.maximumBackoff)
            }
        }
        transport?.close()
        condition.lock()
        finished = true
        condition.broadcast()
        condition.unlock()
    }
}

extension Duration {
    /// The duration in seconds, as a `Double`.
    fileprivate var seconds: Double {
        let (seconds, attoseconds) = components
        return Double(seconds) + Double(attoseconds) / 1e18
    }
}
