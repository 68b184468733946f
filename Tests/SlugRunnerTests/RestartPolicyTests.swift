import SlugRunner
import Testing

@Suite struct RestartPolicyTests {
    @Test func delaysDoubleUpToTheCap() {
        let policy = RestartPolicy(initialDelay: .seconds(1), maximumDelay: .seconds(20))
        #expect(
            (1...7).map { policy.delay(afterCrashes: $0) } == [1, 2, 4, 8, 16, 20, 20].map { Duration.seconds($0) })
        #expect(policy.delay(afterCrashes: 10_000) == .seconds(20), "no overflow on a long crash history")
        let fractional = RestartPolicy(initialDelay: .milliseconds(50), maximumDelay: .seconds(300))
        #expect(fractional.delay(afterCrashes: 3) == .milliseconds(200))
    }

    @Test func aCrashLoopIsReportedOnceAndAHealthyRunStartsTheScheduleOver() {
        let policy = RestartPolicy(
            initialDelay: .seconds(1), maximumDelay: .seconds(300), stableAfter: .seconds(60), crashLoopThreshold: 3)
        var tracker = CrashTracker()
        let quick = (1...4).map { _ in tracker.recordExit(after: .seconds(2), policy: policy) }
        #expect(quick.map(\.delay) == [.seconds(1), .seconds(2), .seconds(4), .seconds(8)])
        #expect(quick.map(\.crashLoopStarted) == [false, false, true, false], "reported once")
        #expect(quick.map(\.inCrashLoop) == [false, false, true, true])

        let afterHealthyRun = tracker.recordExit(after: .seconds(61), policy: policy)
        #expect(afterHealthyRun.delay == .seconds(1))
        #expect(!afterHealthyRun.inCrashLoop)
        #expect(tracker.consecutiveCrashes == 1)
    }
}
