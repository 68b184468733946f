import Crypto
public import Foundation
public import SlipwayLogs
public import SlipwaySpool

/// The drains of one app: those its `dynos.json` lists (`drains:add`) and the operator's (`slugrunner watch
/// --drain`), each line of the app's log handed to each of them. Thread-safe: the app's log calls ``send(_:)`` from
/// any thread, the runner's loop calls ``update(_:)``.
public final class AppDrains: @unchecked Sendable {
    public let app: String
    let settings: DrainSettings
    let report: @Sendable (LogDrain, DrainEvent) -> Void
    private let lock = NSLock()
    private var drains: [Drain] = []
    /// Drains stopped, perhaps still sending what they held.
    private var stopping: [Drain] = []

    /// `report` is told what each drain has to say (called on the drain's thread).
    public init(app: String, settings: DrainSettings, report: @escaping @Sendable (LogDrain, DrainEvent) -> Void) {
        self.app = app
        self.settings = settings
        self.report = report
    }

    deinit { for drain in drains { drain.stop() } }

    /// Hands `line` to every drain.
    public func send(_ line: LogLine) {
        lock.lock()
        for drain in drains { drain.send(line) }
        lock.unlock()
    }

    /// The drains now wanted: new ones start, those no longer listed stop (sending what they hold for a moment).
    /// Returns the refusals of drains that could not start (a malformed URL written by hand), to be logged.
    @discardableResult
    public func update(_ wanted: [LogDrain]) -> [String] {
        var refusals: [String] = []
        lock.lock()
        defer { lock.unlock() }
        let current = Set(drains.map(\.drain))
        let kept = drains.filter { wanted.contains($0.drain) }
        for drain in drains where !wanted.contains(drain.drain) { drain.stop() }
        var next = kept
        for drain in wanted where !current.contains(drain) {
            let report = self.report
            do {
                next.append(try Drain(app: app, drain: drain, settings: settings) { report(drain, $0) })
            } catch {
                refusals.append("\(drain.token): \(error)")
            }
        }
        drains = next
        return refusals
    }

    /// The drains running now.
    public var running: [LogDrain] { lock.withLock { drains.map(\.drain) } }

    /// Lines delivered so far, all drains together.
    public var delivered: Int { lock.withLock { drains.reduce(0) { $0 + $1.delivered } } }

    /// Stops every drain, each sending what it holds for at most `flush` (on its own thread: this does not wait).
    public func stop(flush: Duration = .seconds(2)) {
        let stopped = lock.withLock { () -> [Drain] in
            defer {
                stopping += drains
                drains = []
            }
            return drains
        }
        for drain in stopped { drain.stop(flush: flush) }
    }

    /// Waits until the drains stopped so far have ended, at most until `deadline`.
    public func waitUntilStopped(deadline: Date) {
        for drain in lock.withLock({ stopping }) { drain.waitUntilFinished(deadline: deadline) }
    }

    /// An operator's drain (`slugrunner watch --drain`) for `app`, with a token of its own that stays the same from
    /// one start of the runner to the next: `d.` and a UUID made from the SHA-256 of the app's name and the URL.
    public static func operatorDrain(_ url: String, app: String) -> LogDrain {
        var bytes = Array(SHA256.hash(data: Data("\(app)\n\(url)".utf8)).prefix(16))
        bytes[6] = (bytes[6] & 0x0f) | 0x50
        bytes[8] = (bytes[8] & 0x3f) | 0x80
        let uuid = UUID(
            uuid: (
                bytes[0], bytes[1], bytes[2], bytes[3], bytes[4], bytes[5], bytes[6], bytes[7], bytes[8], bytes[9],
                bytes[10], bytes[11], bytes[12], bytes[13], bytes[14], bytes[15]
            ))
        return LogDrain(url: url, token: "d." + uuid.uuidString.lowercased())
    }
}
