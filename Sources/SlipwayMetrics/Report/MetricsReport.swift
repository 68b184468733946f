public import Foundation
public import SlipwaySpool

/// What `metrics <app> [--type web] [--since 1h] [--json]` prints at the door: per minute, the requests, responses
/// by class, router errors by code, the p50/p95/p99 of the service time, and each process type's memory (max, mean,
/// R14/R15), with the whole span's figures at the end.
public struct MetricsReport: Sendable {
    /// What was asked for.
    public struct Query: Equatable, Sendable {
        /// Only this process type (nil: all).
        public var type: String?
        /// How far back, in seconds (at most the store's 24 hours).
        public var seconds = 3600
        /// JSON rather than lines.
        public var json = false

        public init(type: String? = nil, seconds: Int = 3600, json: Bool = false) {
            self.type = type
            self.seconds = seconds
            self.json = json
        }
    }

    /// Why the words do not make a query: the message says what to give instead.
    public struct QueryError: Error, Sendable {
        public var message: String
    }

    /// Parses the words after the app's name: `--type <type>`, `--since <N>s|m|h|d`, `--json`.
    public static func parse(_ words: [String], isProcessType: (String) -> Bool) throws(QueryError) -> Query {
        var query = Query()
        var rest = words[...]
        while let word = rest.popFirst() {
            switch word {
            case "--json": query.json = true
            case "--type":
                guard let type = rest.popFirst(), isProcessType(type) else {
                    throw QueryError(message: "--type takes a process type from the Procfile, for example --type web")
                }
                query.type = type
            case "--since":
                guard let value = rest.popFirst(), let seconds = Self.seconds(value),
                    (60...MetricsStore.retentionHours * 3600).contains(seconds)
                else {
                    throw QueryError(
                        message: "--since takes a span from 1m to 24h, for example --since 30m or --since 2h")
                }
                query.seconds = seconds
            default:
                throw QueryError(message: "metrics takes --type <type>, --since <span> and --json")
            }
        }
        return query
    }

    /// What `metrics` prints for `app` given its valued options (`--type`, `--since`) and its flags (`--json`).
    public static func output(_ app: String, _ store: MetricsStore, _ values: [String: String], _ flags: Set<String>)
        throws -> [String]
    {
        let words = ["--type", "--since"].flatMap { option in values[option].map { [option, $0] } ?? [] }
        let query = try parse(words + flags.filter { $0 == "--json" }, isProcessType: DynoSettings.isProcessType)
        let report = MetricsReport(app: app, store: store, query: query)
        return query.json ? [try report.json().trimmingCharacters(in: .newlines)] : report.lines()
    }

    /// `settings` with web autoscaled as `ps:autoscale <app> web --min N --max M --p95 <ms>` asks (`options`: the
    /// options' values), checked against the runner's `limit` of dynos per app.
    public static func autoscaling(
        _ settings: DynoSettings, app: String, options: [String: String], limit: Int?
    ) throws(QueryError) -> DynoSettings {
        let number = { (name: String) in options[name].flatMap { Int($0) } }
        guard let low = number("--min"), let high = number("--max"), let p95 = number("--p95"),
            (1...DynoSettings.maximumQuantity).contains(high), (1...high).contains(low),
            DynoSettings.autoscaleTargetRange.contains(p95)
        else {
            throw QueryError(
                message: "give --min and --max dynos (1 <= min <= max <= \(DynoSettings.maximumQuantity)) and the "
                    + "--p95 target in ms (1 to 30000), for example --min 1 --max 4 --p95 200")
        }
        let total = settings.quantities.filter { $0.key != "web" }.values.reduce(high, +)
        if let limit, total > limit {
            throw QueryError(
                message: "\(app) may run at most \(limit) dynos on this server, and --max \(high) makes \(total): "
                    + "lower --max, or ask the operator for more")
        }
        var result = settings
        result.autoscale = (settings.autoscale ?? [:]).merging(["web": .init(min: low, max: high, p95: p95)]) { $1 }
        return result
    }

    /// `90s`, `30m`, `2h`, `1d` in seconds.
    static func seconds(_ span: String) -> Int? {
        guard let unit = span.last, let value = Int(span.dropLast()), value > 0, value < 1_000_000 else { return nil }
        switch unit {
        case "s": return value
        case "m": return value * 60
        case "h": return value * 3600
        case "d": return value * 86400
        default: return nil
        }
    }

    public let app: String
    public let query: Query
    /// The minutes found, oldest first.
    public let minutes: [MinuteFigures]
    /// The first minute looked at.
    public let firstMinute: Int

    /// Reads the minutes of `query`'s span, up to `now`, from `store`.
    public init(app: String, store: MetricsStore, query: Query, now: Date = Date()) {
        let last = Int((now.timeIntervalSince1970 / 60).rounded(.down))
        self.app = app
        self.query = query
        firstMinute = last - (query.seconds + 59) / 60 + 1
        minutes = store.minutes(from: firstMinute, to: last)
    }

    /// One minute's (or the span's) figures as printed.
    struct Row: Codable, Equatable {
        var at: String?
        var requests: Int
        var responses: [String: Int]
        var errors: [String: Int]
        var serviceMS: [String: Double]?
        var memory: [String: Memory]

        struct Memory: Codable, Equatable {
            var maxMB: Double
            var meanMB: Double
            var r14: Int
            var r15: Int
            enum CodingKeys: String, CodingKey {
                case maxMB = "max_mb"
                case meanMB = "mean_mb"
                case r14, r15
            }
        }

        enum CodingKeys: String, CodingKey {
            case at, requests, responses, errors, memory
            case serviceMS = "service_ms"
        }
    }

    struct Document: Codable {
        var app: String
        var type: String?
        var since: String
        var minutes: [Row]
        var total: Row
    }

    /// The figures of `types` (the query's type only, when it names one) as a row.
    func row(_ types: [String: TypeFigures], at minute: Int?) -> Row {
        let chosen = types.filter { query.type == nil || $0.key == query.type }
        var all = TypeFigures()
        for figures in chosen.values {
            var requestsOnly = figures
            requestsOnly.memory = MemoryFigures()
            all.merge(requestsOnly)
        }
        var memory: [String: Row.Memory] = [:]
        for (type, figures) in chosen where figures.memory.samples > 0 || figures.memory.r14 + figures.memory.r15 > 0 {
            let mib = { (bytes: Int64) in (Double(bytes) / 1_048_576 * 10).rounded() / 10 }
            memory[type] = Row.Memory(
                maxMB: mib(figures.memory.maxBytes), meanMB: mib(figures.memory.meanBytes ?? 0),
                r14: figures.memory.r14,
                r15: figures.memory.r15)
        }
        var service: [String: Double]?
        if all.service.count > 0 {
            service = [:]
            for (name, quantile) in [("p50", 0.5), ("p95", 0.95), ("p99", 0.99)] {
                service?[name] = all.service.percentile(quantile).map { ($0 * 10).rounded() / 10 }
            }
        }
        return Row(
            at: minute.map { Self.isoTime(minute: $0) }, requests: all.requests, responses: all.responses,
            errors: all.errors, serviceMS: service, memory: memory)
    }

    /// Every minute's figures merged.
    var total: [String: TypeFigures] {
        var types: [String: TypeFigures] = [:]
        for minute in minutes {
            for (type, figures) in minute.types { types[type, default: TypeFigures()].merge(figures) }
        }
        return types
    }

    /// The report as JSON (sorted keys, two-space indent).
    public func json() throws -> String {
        let document = Document(
            app: app, type: query.type, since: Self.isoTime(minute: firstMinute),
            minutes: minutes.map { row($0.types, at: $0.minute) }, total: row(total, at: nil))
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(document), as: UTF8.self) + "\n"
    }

    /// The report as lines: a header, one line per minute that has figures, the span's line.
    public func lines() -> [String] {
        let what = query.type.map { " (\($0))" } ?? ""
        var lines = ["=== \(app)\(what): since \(Self.isoTime(minute: firstMinute))"]
        guard !minutes.isEmpty else {
            lines.append("No figures yet: the runner counts requests as its router logs them.")
            return lines
        }
        for minute in minutes { lines.append(Self.describe(row(minute.types, at: minute.minute))) }
        lines.append(Self.describe(row(total, at: nil)))
        return lines
    }

    /// `2026-12-07T11:02:00Z  120 req  2xx 118 5xx 2  H12 2  p50 12.5 p95 40.5 p99 98.5 ms  web 87/80 MB`.
    static func describe(_ row: Row) -> String {
        var parts = [row.at ?? "total", "\(row.requests) req"]
        let classes = row.responses.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        if !classes.isEmpty { parts.append(classes.joined(separator: " ")) }
        let errors = row.errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }
        if !errors.isEmpty { parts.append(errors.joined(separator: " ")) }
        if let service = row.serviceMS {
            let values = ["p50", "p95", "p99"].compactMap { name in service[name].map { "\(name) \($0)" } }
            parts.append(values.joined(separator: " ") + " ms")
        }
        for (type, memory) in row.memory.sorted(by: { $0.key < $1.key }) {
            var text = "\(type) mem max \(memory.maxMB) mean \(memory.meanMB) MB"
            if memory.r14 > 0 { text += " R14 \(memory.r14)" }
            if memory.r15 > 0 { text += " R15 \(memory.r15)" }
            parts.append(text)
        }
        return parts.joined(separator: "  ")
    }

    /// Each dyno's share of the web requests of the last whole minute (the current one when it is the only one),
    /// in percent.
    public static func requestShares(folder: String, now: Date = Date()) -> [String: Int] {
        let store = MetricsStore(folder: folder)
        let current = Int((now.timeIntervalSince1970 / 60).rounded(.down))
        let recent = store.minutes(from: current - 1, to: current)
        guard let minute = recent.first(where: { $0.minute == current - 1 }) ?? recent.last,
            let web = minute.types["web"], web.requests > 0
        else { return [:] }
        return web.dynos.mapValues { Int((Double($0) * 100 / Double(web.requests)).rounded()) }
    }

    /// `2026-12-07T11:02:00Z`.
    static func isoTime(minute: Int) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: Date(timeIntervalSince1970: Double(minute) * 60))
    }
}
