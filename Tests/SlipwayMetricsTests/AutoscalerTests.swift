import SlipwayMetrics
import SlipwaySpool
import Testing

/// The autoscaling rule (docs/metrics.md): up above the target, down under half of it or without requests, a whole
/// window between steps, never outside [min, max].
@Suite struct AutoscalerTests {
    static let rule = DynoSettings.Autoscale(min: 1, max: 3, p95: 200)

    static func times(_ milliseconds: Double, count: Int = 20) -> ServiceTimes {
        var times = ServiceTimes()
        for _ in 0..<count { times.add(milliseconds) }
        return times
    }

    @Test func slowRequestsAddADynoAfterAWholeWindowAndNeverPastMax() {
        var scaler = Autoscaler(window: 60, since: 0)
        #expect(scaler.decide(current: 1, rule: Self.rule, times: Self.times(400), now: 30) == nil, "half a window")
        let step = scaler.decide(current: 1, rule: Self.rule, times: Self.times(412), now: 60)
        #expect(step == Autoscaler.Step(from: 1, to: 2, p95: 412.5, seconds: 60))
        #expect(step?.summary == "web 1 → 2, p95 413 ms over 60 s")
        #expect(scaler.decide(current: 2, rule: Self.rule, times: Self.times(400), now: 100) == nil, "cooldown")
        #expect(scaler.decide(current: 2, rule: Self.rule, times: Self.times(400), now: 120)?.to == 3)
        #expect(scaler.decide(current: 3, rule: Self.rule, times: Self.times(400), now: 600) == nil, "at max")
    }

    @Test func betweenHalfTheTargetAndTheTargetNothingChanges() {
        var scaler = Autoscaler(window: 10, since: 0)
        #expect(scaler.decide(current: 2, rule: Self.rule, times: Self.times(150), now: 100) == nil)
        #expect(scaler.decide(current: 2, rule: Self.rule, times: Self.times(101), now: 200) == nil)
        #expect(scaler.decide(current: 2, rule: Self.rule, times: Self.times(99), now: 300)?.to == 1)
    }

    @Test func withoutRequestsItStepsDownToMin() {
        var scaler = Autoscaler(window: 10, since: 0)
        let step = scaler.decide(current: 3, rule: Self.rule, times: ServiceTimes(), now: 10)
        #expect(step?.to == 2)
        #expect(step?.summary == "web 3 → 2, no requests over 10 s")
        #expect(scaler.lookSince(now: 15) == 10, "only requests since the step count")
        #expect(scaler.decide(current: 2, rule: Self.rule, times: ServiceTimes(), now: 20)?.to == 1)
        #expect(scaler.decide(current: 1, rule: Self.rule, times: ServiceTimes(), now: 40) == nil, "at min")
    }

    @Test func aFewSlowRequestsAreNotALoadAndAFormationOutsideTheBoundsComesBackAtOnce() {
        var scaler = Autoscaler(window: 10, since: 0)
        #expect(scaler.decide(current: 1, rule: Self.rule, times: Self.times(900, count: 3), now: 10) == nil)
        var fresh = Autoscaler(window: 10, since: 0)
        #expect(fresh.decide(current: 7, rule: Self.rule, times: ServiceTimes(), now: 1)?.to == 3)
    }
}
