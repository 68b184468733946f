import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// A drain that is down for 30 seconds (a real rsyslogd, stopped and started again) while the app keeps printing and
/// answering through the router: the app and the runner go on, the drain gets its buffer's lines when it is back,
/// and the L10 line counts exactly the lines it never got.
@Suite(.serialized) struct DrainOutageTests {
    /// Prints about a hundred lines a second for ever.
    static let ticker = "ticker: bash -c 'i=0; while :; do i=$((i+1)); echo \"tick $i\"; sleep 0.01; done'\n"

    /// The runs of lines of `log` that `received` lacks, as (index in `log`, count), in order. `received` is the
    /// log's lines as a drain got them: in order, some missing, a batch perhaps twice (at least once), which is
    /// skipped.
    static func missingRuns(_ log: [LogEntry], _ received: [LogEntry]) -> (runs: [(start: Int, count: Int)], got: [Int])
    {
        var runs: [(start: Int, count: Int)] = []
        var got: [Int] = []
        var seen: Set<String> = []
        var next = received.startIndex
        for (index, entry) in log.enumerated() {
            while next < received.endIndex, received[next] != entry, seen.contains(received[next].description) {
                next += 1  // sent again
            }
            if next < received.endIndex, received[next] == entry {
                seen.insert(entry.description)
                got.append(index)
                next += 1
            } else if let last = runs.last, last.start + last.count == index {
                runs[runs.count - 1].count += 1
            } else {
                runs.append((index, 1))
            }
        }
        return (runs, got)
    }

    @Test func aDrainDownFor30SecondsGetsItsBufferAndAnExactL10WhileTheAppKeepsAnswering() throws {
        let harness = try RunnerHarness("drains-outage")
        let (rsyslog, drain) = try harness.syslogDrain()
        defer { rsyslog.stop() }
        try harness.saveDynoSettings(
            DynoSettings(formation: ["web": .init(quantity: 1), "ticker": .init(quantity: 1)], drains: [drain]))
        try harness.publish(try harness.buildSlug(procfile: "web: ./web.sh\n" + Self.ticker), version: 1)
        let router = try freeLoopbackPort()
        let watcher = try harness.startWatch(["--router", "127.0.0.1:\(router)", "--drain-buffer", "500"])
        defer { _ = harness.stopWatch(watcher) }
        #expect(harness.waitForRelease(1) != nil, "\(harness.watchOutput)")
        var asked = 0
        // One request through the router, each to a path of its own (so that each of its log lines is unique).
        func answered() -> Bool {
            asked += 1
            let url = "http://myapp.localhost:\(router)/page.txt?n=\(asked)"
            return (try? runTool(["/usr/bin/curl", "-sf", "--max-time", "10", url]))?.status == 0
        }
        #expect(waitUntil(seconds: 60) { answered() }, "the router serves the app: \(harness.watchOutput)")
        #expect(waitUntil { LogEntry.entries(rsyslog.messages()).contains { $0.text.hasPrefix("tick ") } })

        // The drain goes down for 30 seconds; the app is asked all along, and its log keeps growing.
        rsyslog.stop()
        let down = Date()
        var (requests, failures, sizes) = (0, 0, [harness.log().utf8.count])
        let lasted = waitUntil(seconds: 120) {
            requests += 1
            if !answered() { failures += 1 }
            sizes.append(harness.log().utf8.count)
            return Date().timeIntervalSince(down) >= 30
        }
        #expect(lasted && requests >= 10 && failures == 0, "\(failures) of \(requests) requests failed")
        #expect(zip(sizes, sizes.dropFirst()).allSatisfy { $0 < $1 }, "the log grew between any two requests")
        let unreachable = "Drain \(drain.token) (\(drain.url)) is unreachable"
        #expect(harness.log().contains("slugrunner[drain]: \(unreachable)"))

        // Back: the drain sends what its buffer kept, then says how many it dropped.
        try rsyslog.start()
        #expect(waitUntil(seconds: 60) { rsyslog.messages().contains { $0.text.hasPrefix("Error L10 ") } })
        let log = LogEntry.entries(harness.log())
        let received = LogEntry.entries(rsyslog.messages())
        let l10 = try #require(log.firstIndex { $0.component == "drain" && $0.text.hasPrefix("Error L10 ") })
        let text = log[l10].text
        #expect(text.hasPrefix("Error L10 (output buffer overflow): drain '\(drain.token)' dropped "), "\(text)")
        let dropped = try #require(Int(text.split(separator: " ")[8]), "\(text)")
        let cut = try #require(received.firstIndex(of: log[l10]))
        let (runs, got) = Self.missingRuns(Array(log[...l10]), Array(received[...cut]))
        // The dropped lines are one run, exactly the L10's count; before it, at most the few lines written into the
        // connection in the instant rsyslogd closed it (TCP has no acknowledgement).
        let run = try #require(runs.last)
        #expect(run.count == dropped, "runs \(runs.map { "\($0.count) at \($0.start)" })")
        #expect(dropped > 500, "the outage wrote more than the buffer holds")
        #expect(runs.dropLast().reduce(0) { $0 + $1.count } <= 20, "runs \(runs.map { "\($0.count) at \($0.start)" })")
        // After the run the drain got every line: the buffer's 500 (plus any line written in the instant between
        // its taking them and its saying it delivers again).
        let again = try #require(log.firstIndex { $0.text == "Drain \(drain.token) (\(drain.url)) delivers again" })
        let buffered = got.filter { $0 >= run.start + run.count && $0 < again }.count
        #expect(buffered >= 500 && buffered <= 505, "\(buffered) buffered lines delivered")
    }
}
