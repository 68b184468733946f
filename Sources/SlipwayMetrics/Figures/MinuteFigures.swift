/// One minute of one app: what its router lines and its dynos' memory samples said, by process type.
public struct MinuteFigures: Codable, Equatable, Sendable {
    /// The minute, as Unix time divided by 60.
    public var minute: Int
    /// Process type → its figures in that minute.
    public var types: [String: TypeFigures]

    public init(minute: Int, types: [String: TypeFigures] = [:]) {
        self.minute = minute
        self.types = types
    }
}

/// One process type's figures over some time: its requests (web only) and its dynos' memory.
public struct TypeFigures: Codable, Equatable, Sendable {
    /// Requests the router finished.
    public var requests = 0
    /// Responses by class: `2xx`, `3xx`, `4xx`, `5xx` (and `other` for a status outside them).
    public var responses: [String: Int] = [:]
    /// Router errors by code: `H12`, `H13`, `H14`…
    public var errors: [String: Int] = [:]
    /// The service times.
    public var service = ServiceTimes()
    /// Dyno → how many requests it answered (for `ps`'s share of the requests). At most ``maxDynos`` are kept.
    public var dynos: [String: Int] = [:]
    /// The dynos' memory samples.
    public var memory = MemoryFigures()

    /// The most dynos counted apart: a formation has at most 100 of a type.
    static let maxDynos = 128

    public init() {}

    /// Adds one request.
    public mutating func addRequest(status: Int, code: String?, milliseconds: Double, dyno: String) {
        requests += 1
        responses[Self.statusClass(status), default: 0] += 1
        if let code { errors[String(code.prefix(8)), default: 0] += 1 }
        service.add(milliseconds)
        if !dyno.isEmpty, dynos[dyno] != nil || dynos.count < Self.maxDynos { dynos[dyno, default: 0] += 1 }
    }

    /// Adds everything `other` counted.
    public mutating func merge(_ other: TypeFigures) {
        requests += other.requests
        responses.merge(other.responses, uniquingKeysWith: +)
        errors.merge(other.errors, uniquingKeysWith: +)
        service.merge(other.service)
        for (dyno, count) in other.dynos where dynos[dyno] != nil || dynos.count < Self.maxDynos {
            dynos[dyno, default: 0] += count
        }
        memory.merge(other.memory)
    }

    /// `2xx` for 200…299, and so on; `other` outside 200…599.
    public static func statusClass(_ status: Int) -> String {
        (200...599).contains(status) ? "\(status / 100)xx" : "other"
    }
}

/// A process type's memory over some time: the samples of each of its dynos (one per dyno each time the runner
/// looks, about once a second), and its memory errors.
public struct MemoryFigures: Codable, Equatable, Sendable {
    /// How many samples.
    public var samples = 0
    /// Their bytes added up.
    public var sumBytes: Int64 = 0
    /// The largest sample.
    public var maxBytes: Int64 = 0
    /// R14 (memory quota exceeded) and R15 (vastly exceeded: a process was killed) errors.
    public var r14 = 0
    public var r15 = 0

    public init() {}

    /// The mean sample, in bytes; nil without samples.
    public var meanBytes: Int64? { samples > 0 ? sumBytes / Int64(samples) : nil }

    /// Adds a sample.
    public mutating func add(bytes: Int64) {
        samples += 1
        sumBytes += max(0, bytes)
        maxBytes = max(maxBytes, bytes)
    }

    /// Adds everything `other` counted.
    public mutating func merge(_ other: MemoryFigures) {
        samples += other.samples
        sumBytes += other.sumBytes
        maxBytes = max(maxBytes, other.maxBytes)
        r14 += other.r14
        r15 += other.r15
    }
}
