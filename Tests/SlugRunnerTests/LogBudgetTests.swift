import Foundation
import SlipwaySystem
import Testing

@testable import SlipwayLogs
@testable import SlipwayRunnerKit
@testable import SlugRunner

#if canImport(Glibc)
    import Glibc
#endif

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

@Suite struct OutputPumpTests {
    @Test func aPipesLinesGoToTheLogWithinTheBudgetAndTheRestIsCountedAtItsEnd() throws {
        let folder = FileManager.default.temporaryDirectory.appendingPathComponent(
            "pump-\(getpid())-\(UInt32.random(in: 0...UInt32.max))")
        try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: folder) }
        let path = folder.appendingPathComponent("myapp.log").path
        let log = AppLog(path: path, maxBytes: 1 << 30)
        let pump = try OutputPump(rate: LogRate(linesPerSecond: 10))
        let pipe = try Spawner.outputPipe()
        pump.add(pipe.readEnd, label: "web.1", log: log)
        let text = (1...300).map { "line \($0)\n" }.joined()
        try Files.writeAll(pipe.writeEnd, Data(text.utf8), path: "(pipe)")
        try Files.writeAll(pipe.writeEnd, Data("no newline".utf8), path: "(pipe)")
        close(pipe.writeEnd)
        var written = ""
        let ended = (0..<300).contains { _ in
            written = (try? String(contentsOfFile: path, encoding: .utf8)) ?? ""
            if written.contains("Error L11") { return true }
            usleep(20_000)
            return false
        }
        pump.finish()
        #expect(ended, "\(written)")
        let kept = written.split(separator: "\n").filter { $0.contains(" app[web.1]: line ") }.count
        #expect((100...103).contains(kept), "the burst, and what a few milliseconds refill: \(kept)")
        #expect(written.contains(" app[web.1]: line 1\n"))
        let dropped = try #require(
            written.firstMatch(
                of:
                    /slugrunner\[web\.1\]: Error L11 \(Tail buffer overflow\) -> (\d+) log lines dropped: web\.1 logs faster than 10 lines per second/
            ).flatMap { Int($0.1) })
        #expect(kept + dropped == 301, "every line is kept or counted, the last one without its newline too")
    }
}
