/// Service times as a fixed-bucket log histogram, from which percentiles are read: 1 ms buckets below 1024 ms (a
/// percentile is then within 0.5 ms of the exact one), then 512 buckets per doubling (within 0.1%) up to 131 s,
/// and one bucket above. Only the buckets that hold a request are kept, so a minute of an app answering in a few
/// dozen distinct milliseconds takes a few dozen pairs, and never more than ``bucketCount``.
public struct ServiceTimes: Equatable, Sendable {
    /// Bucket index → how many requests fell in it.
    public private(set) var buckets: [Int: Int] = [:]
    /// How many requests.
    public private(set) var count = 0
    /// Their service times added up, in milliseconds.
    public private(set) var sumMilliseconds = 0.0

    /// Below this many milliseconds, each bucket is 1 ms wide.
    static let linearLimit = 1024
    /// Buckets per doubling above ``linearLimit``.
    static let subBuckets = 512
    /// Doublings above ``linearLimit`` before the last bucket (1024 ms × 2⁷ = 131 s).
    static let doublings = 7
    /// The number of buckets there can be.
    public static let bucketCount = linearLimit + doublings * subBuckets + 1

    public init() {}

    /// Adds one request that took `milliseconds`.
    public mutating func add(_ milliseconds: Double) {
        add(bucket: Self.bucket(of: milliseconds), count: 1, sum: max(0, milliseconds))
    }

    /// Adds every request of `other`.
    public mutating func merge(_ other: ServiceTimes) {
        for (bucket, count) in other.buckets { buckets[bucket, default: 0] += count }
        count += other.count
        sumMilliseconds += other.sumMilliseconds
    }

    /// Adds `count` requests in `bucket` whose times add up to `sum` (reading a stored histogram back).
    mutating func add(bucket: Int, count: Int, sum: Double) {
        guard count > 0, (0..<Self.bucketCount).contains(bucket) else { return }
        buckets[bucket, default: 0] += count
        self.count += count
        sumMilliseconds += sum
    }

    /// The `quantile` (0.5 for the median, 0.95, 0.99) by nearest rank: the time of the request at rank
    /// ⌈quantile × count⌉, as the middle of its bucket. Nil without requests.
    public func percentile(_ quantile: Double) -> Double? {
        guard count > 0 else { return nil }
        let rank = max(1, min(count, Int((quantile * Double(count)).rounded(.up))))
        var seen = 0
        for bucket in buckets.keys.sorted() {
            seen += buckets[bucket] ?? 0
            if seen >= rank { return Self.middle(of: bucket) }
        }
        return nil
    }

    /// How many requests took at most `milliseconds` (for the Prometheus histogram's `le` buckets, which are made
    /// to fall on bucket edges).
    public func count(atMost milliseconds: Double) -> Int {
        buckets.reduce(0) { $0 + (Self.upperEdge(of: $1.key) <= milliseconds ? $1.value : 0) }
    }

    /// The bucket of `milliseconds`.
    static func bucket(of milliseconds: Double) -> Int {
        guard milliseconds.isFinite, milliseconds > 0 else { return 0 }
        if milliseconds < Double(linearLimit) { return Int(milliseconds) }
        guard milliseconds < Double(linearLimit << doublings) else { return bucketCount - 1 }
        let whole = Int(milliseconds)
        let exponent = Int.bitWidth - 1 - whole.leadingZeroBitCount  // 10 for 1024…2047
        let shift = exponent - 9
        return linearLimit + (exponent - 10) * subBuckets + (whole >> shift) - subBuckets
    }

    /// The lower edge and width of `bucket`, in milliseconds.
    static func range(of bucket: Int) -> (low: Double, width: Double) {
        if bucket < linearLimit { return (Double(bucket), 1) }
        guard bucket < bucketCount - 1 else { return (Double(linearLimit << doublings), 0) }
        let exponent = 10 + (bucket - linearLimit) / subBuckets
        let sub = subBuckets + (bucket - linearLimit) % subBuckets
        let shift = exponent - 9
        return (Double(sub << shift), Double(1 << shift))
    }

    /// The middle of `bucket`: what a percentile falling in it is given as.
    static func middle(of bucket: Int) -> Double {
        let (low, width) = range(of: bucket)
        return low + width / 2
    }

    /// The upper edge of `bucket` (every time in it is below it).
    static func upperEdge(of bucket: Int) -> Double {
        let (low, width) = range(of: bucket)
        return width == 0 ? .infinity : low + width
    }
}

extension ServiceTimes: Codable {
    enum CodingKeys: String, CodingKey {
        case buckets, sum
    }

    /// Stored as `{"buckets": [[index, count], …], "sum": ms}`, the buckets in order.
    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(buckets.sorted { $0.key < $1.key }.map { [$0.key, $0.value] }, forKey: .buckets)
        try container.encode((sumMilliseconds * 1000).rounded() / 1000, forKey: .sum)
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        let pairs = try container.decode([[Int]].self, forKey: .buckets)
        let sum = try container.decode(Double.self, forKey: .sum)
        self.init()
        for pair in pairs where pair.count == 2 { add(bucket: pair[0], count: pair[1], sum: 0) }
        sumMilliseconds = sum
    }
}
