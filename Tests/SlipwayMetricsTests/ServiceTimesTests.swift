import Foundation
import SlipwayMetrics
import Testing

/// The histogram's percentiles against the exact nearest-rank percentile of the same samples.
@Suite struct ServiceTimesTests {
    /// The exact nearest-rank percentile.
    static func exact(_ samples: [Double], _ quantile: Double) -> Double {
        let sorted = samples.sorted()
        let rank = max(1, Int((quantile * Double(sorted.count)).rounded(.up)))
        return sorted[rank - 1]
    }

    @Test func percentilesBelowASecondAreWithinHalfAMillisecond() {
        var generator = SystemRandomNumberGenerator()
        for _ in 0..<50 {
            let count = Int.random(in: 1...2000, using: &generator)
            let samples = (0..<count).map { _ in Double.random(in: 0...1023.9, using: &generator) }
            var times = ServiceTimes()
            for sample in samples { times.add(sample) }
            #expect(times.count == count)
            for quantile in [0.5, 0.95, 0.99] {
                let value = times.percentile(quantile) ?? -1
                #expect(abs(value - Self.exact(samples, quantile)) <= 0.5, "\(quantile) of \(count)")
            }
        }
    }

    @Test func percentilesAboveASecondAreWithinATenthOfAPercent() {
        let samples = (0..<1000).map { _ in Double.random(in: 1024...120_000) }
        var times = ServiceTimes()
        for sample in samples { times.add(sample) }
        for quantile in [0.5, 0.95, 0.99] {
            let exact = Self.exact(samples, quantile)
            let value = times.percentile(quantile) ?? -1
            #expect(abs(value - exact) <= exact * 0.001 + 0.001, "\(quantile): \(value) vs \(exact)")
        }
    }

    @Test func mergingAndStoringKeepEveryRequest() throws {
        var first = ServiceTimes()
        var second = ServiceTimes()
        for value in [1.2, 3.4, 400.0, 2500.0] { first.add(value) }
        for value in [0.0, 200_000.0, 3.9] { second.add(value) }
        first.merge(second)
        #expect(first.count == 7)
        #expect(abs(first.sumMilliseconds - 202_908.5) < 0.01)
        let decoded = try JSONDecoder().decode(ServiceTimes.self, from: try JSONEncoder().encode(first))
        #expect(decoded == first)
        #expect(first.percentile(0.5) == 3.5)
        #expect(ServiceTimes().percentile(0.95) == nil)
    }

    @Test func theHistogramCountsUpToItsEdges() {
        var times = ServiceTimes()
        for value in [4.2, 9.0, 24.9, 250.0, 999.0, 5000.0] { times.add(value) }
        #expect(times.count(atMost: 5) == 1)
        #expect(times.count(atMost: 25) == 3)
        #expect(times.count(atMost: 1000) == 5)
        #expect(times.count(atMost: 10_000) == 6)
    }
}
