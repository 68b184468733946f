public import Foundation
public import SlipwaySpool
import SlipwaySystem

/// The runner's side of the metrics: it takes each router line as the runner reads it and each memory sample, adds
/// them to the minute they fall in, and writes the app's hour file (``MetricsStore``) every few seconds while it
/// changes, and at once when it stops; nothing is read back from the logs. It keeps the running totals the
/// Prometheus endpoint serves, and the last seconds of web service times autoscaling looks at.
///
/// Used from the watcher's single thread; only ``MetricsEndpoint`` is read from another.
public final class MetricsRecorder {
    let layout: RootLayout
    /// Where ``snapshot()`` is published for the Prometheus endpoint, when one is served.
    public let endpoint: MetricsEndpoint?
    /// The most bytes each app's files may take (``MetricsStore/maxBytes``).
    let maxBytes: Int64
    /// How often a changed hour is written.
    let flushInterval: TimeInterval
    /// How many seconds of web service times are kept for autoscaling.
    let recentSeconds: Int
    /// Called once for each app folder made, so that the runner gives it to the door's user.
    let madeFolder: (String) -> Void

    private var apps: [String: AppFigures] = [:]
    private var lastFlush = Date.distantPast
    private var published = false
    private var publishedMinute = 0

    /// What is kept of one app.
    final class AppFigures {
        let store: MetricsStore
        /// The hours read or changed since the last write, hour → minute → figures.
        var hours: [Int: [Int: MinuteFigures]] = [:]
        var dirty: Set<Int> = []
        /// Everything counted since the runner started, by process type (for Prometheus).
        var totals: [String: TypeFigures] = [:]
        /// The web requests' service times by second (Unix time), the last ``recentSeconds`` of them.
        var recent: [(second: Int, times: ServiceTimes)] = []
        var folderMade = false

        init(store: MetricsStore) { self.store = store }
    }

    public init(
        layout: RootLayout, endpoint: MetricsEndpoint? = nil, maxBytes: Int64 = 16 << 20,
        flushInterval: TimeInterval = 5, recentSeconds: Int = 600, madeFolder: @escaping (String) -> Void = { _ in }
    ) {
        self.layout = layout
        self.endpoint = endpoint
        self.maxBytes = maxBytes
        self.flushInterval = flushInterval
        self.recentSeconds = recentSeconds
        self.madeFolder = madeFolder
    }

    private func figures(_ app: String) -> AppFigures {
        if let figures = apps[app] { return figures }
        let figures = AppFigures(store: MetricsStore(folder: layout.runnerMetrics(app), maxBytes: maxBytes))
        apps[app] = figures
        return figures
    }

    /// Changes the figures of `app`'s process `type` in the minute of `date`.
    private func change(_ app: String, _ type: String, at date: Date, _ body: (inout TypeFigures) -> Void) {
        let figures = figures(app)
        let minute = Int((date.timeIntervalSince1970 / 60).rounded(.down))
        let hour = minute / 60
        if figures.hours[hour] == nil {
            figures.hours[hour] = Dictionary(
                figures.store.minutes(ofHour: hour).map { ($0.minute, $0) }, uniquingKeysWith: { first, _ in first })
        }
        body(
            &figures.hours[hour, default: [:]][minute, default: MinuteFigures(minute: minute)].types[
                type, default: .init()])
        body(&figures.totals[type, default: TypeFigures()])
        figures.dirty.insert(hour)
        published = false
    }

    /// One request the router finished (a router line): the process type is the dyno's (`web.2` → `web`), `web`
    /// when no dyno answered (H14).
    public func request(
        app: String, date: Date, dyno: String, status: Int, code: String?, milliseconds: Double
    ) {
        let type = DynoName(dyno)?.type ?? ProcessType.web
        change(app, type, at: date) {
            $0.addRequest(status: status, code: code, milliseconds: milliseconds, dyno: dyno)
        }
        guard type == "web" else { return }
        let figures = figures(app)
        let second = Int(date.timeIntervalSince1970.rounded(.down))
        if let index = figures.recent.lastIndex(where: { $0.second == second }) {
            figures.recent[index].times.add(milliseconds)
        } else {
            var times = ServiceTimes()
            times.add(milliseconds)
            figures.recent.append((second, times))
            figures.recent.sort { $0.second < $1.second }
            figures.recent.removeAll { $0.second <= second - recentSeconds }
        }
    }

    /// A sample of one dyno's memory.
    public func memory(app: String, type: String, bytes: Int64, date: Date) {
        change(app, type, at: date) { $0.memory.add(bytes: bytes) }
    }

    /// A memory error of a dyno of `type`: `R14` or `R15`.
    public func memoryError(app: String, type: String, code: String, date: Date) {
        change(app, type, at: date) { figures in
            if code == "R15" { figures.memory.r15 += 1 } else { figures.memory.r14 += 1 }
        }
    }

    /// The service times of `app`'s web requests that ended at or after `since` (Unix time, seconds).
    public func webServiceTimes(app: String, since: Double) -> ServiceTimes {
        var times = ServiceTimes()
        for entry in apps[app]?.recent ?? [] where Double(entry.second) >= since { times.merge(entry.times) }
        return times
    }

    /// Writes the hours that changed, at most every ``flushInterval`` unless `force` (the runner stops), removes
    /// what is past the retention or the bound, and publishes the totals to the endpoint. Returns the errors, one
    /// line per app that could not be written.
    @discardableResult
    public func flush(now: Date = Date(), force: Bool = false) -> [String] {
        let minute = Int((now.timeIntervalSince1970 / 60).rounded(.down))
        if !published || minute != publishedMinute, let endpoint {
            endpoint.publish(snapshot(now: now))
            published = true
            publishedMinute = minute
        }
        guard force || now.timeIntervalSince(lastFlush) >= flushInterval else { return [] }
        lastFlush = now
        let currentHour = Int((now.timeIntervalSince1970 / 3600).rounded(.down))
        var errors: [String] = []
        for (app, figures) in apps.sorted(by: { $0.key < $1.key }) where !figures.dirty.isEmpty {
            do {
                if !figures.folderMade {
                    try FileSystem.makeFolders(figures.store.folder, mode: 0o750)
                    madeFolder(figures.store.folder)
                    figures.folderMade = true
                }
                for hour in figures.dirty.sorted() {
                    let minutes = (figures.hours[hour] ?? [:]).values.sorted { $0.minute < $1.minute }
                    try figures.store.save(hour: hour, minutes)
                }
                figures.dirty = []
                figures.hours = figures.hours.filter { $0.key >= currentHour }
                figures.store.prune(now: currentHour)
            } catch {
                errors.append("cannot write the metrics of \(app): \(error)")
            }
        }
        return errors
    }

    /// Forgets an app the runner no longer runs (its files stay until they age out).
    public func forget(_ app: String) {
        flush(force: true)
        apps[app] = nil
    }

    /// What the endpoint serves: per app and type, the totals since the runner started and the last minute's
    /// figures (the minute before `now`'s).
    func snapshot(now: Date) -> MetricsSnapshot {
        let lastMinute = Int((now.timeIntervalSince1970 / 60).rounded(.down)) - 1
        var snapshot = MetricsSnapshot()
        for (app, figures) in apps {
            let minute = figures.hours[lastMinute / 60]?[lastMinute]?.types ?? [:]
            for (type, total) in figures.totals {
                snapshot.figures[app, default: [:]][type] = .init(total: total, lastMinute: minute[type] ?? .init())
            }
        }
        return snapshot
    }
}

/// What the Prometheus endpoint serves: app → process type → its figures.
public struct MetricsSnapshot: Sendable, Equatable {
    public struct Figures: Sendable, Equatable {
        /// Since the runner started.
        public var total: TypeFigures
        /// In the last whole minute.
        public var lastMinute: TypeFigures
    }

    public var figures: [String: [String: Figures]] = [:]

    public init() {}
}
