import Foundation
import Testing

@testable import SlugRunner

@Suite struct LogBudgetTests {
    @Test func aBurstPassesThenTheRateAndTheRestIsCountedAndReportedOncePerSecond() {
        let start = ContinuousClock.now
        var budget = LogBudget(rate: LogRate(linesPerSecond: 10), now: start)
        let burst = (0..<150).filter { _ in budget.admit(now: start) }.count
        #expect(burst == 100)
        #expect(budget.dropped == 50)
        #expect(budget.report(dyno: "web.1", now: start + .milliseconds(500)) == nil, "at most one report a second")
        let later = start + .seconds(1)
        #expect(
            budget.report(dyno: "web.1", now: later)
                == "Error L11 (Tail buffer overflow) -> 50 log lines dropped: web.1 logs faster than 10 lines per second"
        )
        #expect(budget.dropped == 0)
        // A second later, ten more lines are allowed.
        let refilled = (0..<20).filter { _ in budget.admit(now: later) }.count
        #expect(refilled == 10)
        #expect(budget.report(dyno: "web.1", now: later, final: true)?.contains("-> 10 log lines dropped") == true)
        #expect(budget.report(dyno: "web.1", now: later, final: true) == nil, "nothing dropped since")
    }

    @Test func refusedLinesAreCountedWithoutBeingKeptAndTheLengthLimitHolds() {
        var lines = OutputLines(maxLineLength: 4)
        var keep = [true, false, true, true]
        let (kept, dropped) = Array("ab\ncd\nefghij\nk".utf8).withUnsafeBytes { bytes in
            lines.append(bytes) { keep.isEmpty ? true : keep.removeFirst() }
        }
        #expect(kept == ["ab", "efgh", "ij"])
        #expect(dropped == 1)
        #expect(lines.finish() == "k")
        // A line of exactly the limit, then its newline, is one line.
        let exact = Array("abcd\nef\n".utf8).withUnsafeBytes { lines.append($0) }
        #expect(exact == ["abcd", "ef"])
        // Split across appends.
        _ = Array("ab".utf8).withUnsafeBytes { lines.append($0) }
        let joined = Array("c\n".utf8).withUnsafeBytes { lines.append($0) }
        #expect(joined == ["abc"])
    }
}
