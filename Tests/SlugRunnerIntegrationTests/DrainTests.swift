import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// `slugrunner watch` sending apps' logs to drains: real rsyslogd receivers (TLS with a test CA, and plain TCP), the
/// app's own drains from its `dynos.json` and the operator's (`--drain`).
@Suite(.serialized) struct DrainTests {
    static func isBurst(_ entry: LogEntry) -> Bool { entry.source == "app" && entry.component == "burst.1" }

    static let burst = "burst: bash -c 'for i in $(seq 1 10000); do echo \"burst $i\"; done; exec sleep 1000'\n"

    @Test func everyLineOfADeployAndABurstReachTheAppsDrainAndTheOperatorsInOrder() throws {
        let harness = try RunnerHarness("drains-deploy")
        let certificates = try TestCertificates(in: try harness.scratch.makeDirectory("tls"))
        let tls = try PrivateRsyslog(
            folder: try harness.scratch.makeDirectory("tls-syslog"), certificates: certificates)
        defer { tls.stop() }
        let plain = try PrivateRsyslog(folder: try harness.scratch.makeDirectory("plain-syslog"), certificates: nil)
        defer { plain.stop() }
        let drain = LogDrain(url: "syslog+tls://localhost:\(tls.port)", token: LogDrain.newToken())
        try harness.saveDynoSettings(
            DynoSettings(formation: ["web": .init(quantity: 1), "burst": .init(quantity: 1)], drains: [drain]))
        let out = try harness.buildSlug(procfile: "web: ./web.sh\n" + Self.burst)
        try harness.publish(out, version: 1)
        let watcher = try harness.startWatch([
            "--drain-ca", certificates.caFile, "--drain", "syslog://127.0.0.1:\(plain.port)", "--log-rate", "2000",
        ])
        defer { _ = harness.stopWatch(watcher) }
        #expect(harness.waitForRelease(1) != nil, "\(harness.watchOutput)")

        // The burst, whole and in order, as `app burst.1` from host myapp, with the drain's token.
        let burst = (1...10_000).map { LogEntry(source: "app", component: "burst.1", text: "burst \($0)") }
        for receiver in [tls, plain] {
            #expect(
                waitUntil(seconds: 120) {
                    LogEntry.entries(receiver.messages()).filter(Self.isBurst).count >= 10_000
                })
            let messages = receiver.messages()
            #expect(LogEntry.entries(messages).filter(Self.isBurst) == burst)
            #expect(messages.allSatisfy { $0.hostname == "myapp" })
        }
        #expect(tls.messages().allSatisfy { $0.structuredData == "[drain@32473 token=\"\(drain.token)\"]" })
        #expect(plain.messages().allSatisfy { $0.structuredData.hasPrefix("[drain@32473 token=\"d.") })

        // Every line of the app's log, the runner's deploy lines and the web dyno's included, in the log's order.
        var log: [LogEntry] = []
        #expect(
            waitUntil(seconds: 60) {
                log = LogEntry.entries(harness.log())
                return LogEntry.entries(tls.messages()) == log && LogEntry.entries(plain.messages()) == log
            }, "the drains got \(tls.messages().count) and \(plain.messages().count) of \(log.count) lines")
        #expect(log.contains(LogEntry(source: "slugrunner", component: "deploy", text: "Deployed v1")))
        #expect(
            log.contains { $0.source == "app" && $0.component == "web.1" && $0.text.hasPrefix("web web.1 starting") })
    }

    @Test func aDrainDownKeepsTheAppGoingThenGetsItsBufferAndAnL10Line() throws {
        let harness = try RunnerHarness("drains-down")
        let (rsyslog, drain) = try harness.syslogDrain()
        defer { rsyslog.stop() }
        try harness.saveDynoSettings(DynoSettings(drains: [drain]))
        let out = try harness.buildSlug(procfile: "web: ./web.sh\n" + Self.burst)
        try harness.publish(out, version: 1)
        let watcher = try harness.startWatch(["--drain-buffer", "500", "--log-rate", "2000"])
        defer { _ = harness.stopWatch(watcher) }
        #expect(harness.waitForRelease(1) != nil, "\(harness.watchOutput)")
        #expect(waitUntil { LogEntry.entries(rsyslog.messages()).contains { $0.text == "Deployed v1" } })

        // The drain goes down; the app scales, prints 10,000 lines, scales back and deploys again all the same.
        rsyslog.stop()
        var settings = DynoSettings(
            formation: ["web": .init(quantity: 1), "burst": .init(quantity: 1)], drains: [drain])
        try harness.saveDynoSettings(settings)
        #expect(waitUntil(seconds: 60) { harness.log().contains("app[burst.1]: burst 10000") })
        #expect(LogEntry.entries(harness.log()).filter(Self.isBurst).count == 10_000, "the local log has every line")
        #expect(waitUntil { harness.log().contains("is unreachable") })
        settings.formation["burst"] = .init(quantity: 0)
        try harness.saveDynoSettings(settings)
        try harness.publish(out, version: 2)
        #expect(harness.waitForRelease(2) != nil, "\(harness.watchOutput)")

        try rsyslog.start()
        #expect(
            waitUntil(seconds: 60) {
                LogEntry.entries(rsyslog.messages()).contains { $0.text.hasPrefix("Deployed v2") }
            })
        #expect(
            waitUntil { harness.log().contains("Error L10 (output buffer overflow): drain '\(drain.token)' dropped ") })
        #expect(waitUntil { rsyslog.messages().contains { $0.text.hasPrefix("Error L10 (output buffer overflow)") } })
        let received = LogEntry.entries(rsyslog.messages())
        let after = received.drop { $0.text != "Deployed v1" }.dropFirst()
        #expect(after.count <= 500 + 500 + 20, "at most the buffer, the batch in flight and the lines since")
        // What came through of the burst is in order and ends with its last line; the rest was dropped and counted.
        let burst = after.filter(Self.isBurst).compactMap { Int($0.text.dropFirst("burst ".count)) }
        #expect(burst.last == 10_000)
        #expect(zip(burst, burst.dropFirst()).allSatisfy { $0 < $1 })
        #expect(burst.count < 1000)
        #expect(harness.log().contains("slugrunner[drain]: Drain \(drain.token) (\(drain.url)) delivers again"))
    }

    /// An app's log hands its lines to drains only while it has some: a drain added while the app runs gets the lines
    /// from then on, and one added again after it was removed too.
    @Test func aDrainAddedToARunningAppGetsItsLinesFromThenOn() throws {
        let harness = try RunnerHarness("drains-added")
        let (rsyslog, drain) = try harness.syslogDrain()
        defer { rsyslog.stop() }
        try harness.publish(try harness.buildSlug(), version: 1)
        let watcher = try harness.startWatch()
        defer { _ = harness.stopWatch(watcher) }
        #expect(harness.waitForRelease(1) != nil, "\(harness.watchOutput)")
        for round in 1...2 {
            try harness.saveDynoSettings(DynoSettings(drains: [drain]))
            #expect(
                waitUntil { rsyslog.messages().filter { $0.text == "Drains: \(drain.token)" }.count == round },
                "round \(round): \(harness.log())")
            try harness.saveDynoSettings(DynoSettings())
            #expect(
                waitUntil {
                    harness.log().components(separatedBy: "slugrunner[drain]: Drains: none").count == round + 1
                })
        }
        #expect(!rsyslog.messages().contains { $0.text.hasPrefix("Deployed v1") }, "the lines before it are not sent")
        #expect(!rsyslog.messages().contains { $0.text == "Drains: none" })
    }
}
