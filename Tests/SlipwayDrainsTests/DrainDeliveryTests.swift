import Foundation
import SlipwayDrains
import SlipwayLogs
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// Drains against real receivers started by the tests: Debian's rsyslogd (TLS with a test CA, and plain TCP) and a
/// small HTTPS server taking Logplex POSTs.
@Suite(.serialized) struct DrainDeliveryTests {
    /// What a drain reported, kept for the test.
    final class Events: @unchecked Sendable {
        private let lock = NSLock()
        private var events: [DrainEvent] = []
        func add(_ event: DrainEvent) { lock.withLock { events.append(event) } }
        var all: [DrainEvent] { lock.withLock { events } }
        var overflows: [Int] {
            all.compactMap { if case .overflow(let dropped, _) = $0 { dropped } else { nil } }
        }
        var unreachable: Bool { all.contains { if case .unreachable = $0 { true } else { false } } }
    }

    static func line(_ index: Int, _ component: String = "web.1") -> LogLine {
        LogLine(date: Date(), source: "app", component: component, text: "line \(index)")
    }

    @Test func aTLSSyslogDrainDeliversABurstInOrderWithItsFields() throws {
        let scratch = try ScratchDirectory("drain-tls")
        let certificates = try TestCertificates(in: scratch.path)
        let rsyslog = try PrivateRsyslog(folder: scratch.path, certificates: certificates)
        defer { rsyslog.stop() }
        let drain = LogDrain(url: "syslog+tls://localhost:\(rsyslog.port)", token: LogDrain.newToken())
        let events = Events()
        let drains = AppDrains(app: "myapp", settings: DrainSettings(caBundle: certificates.caFile)) { events.add($1) }
        defer { drains.stop() }
        drains.update([drain])
        for index in 1...10_000 { drains.send(Self.line(index)) }
        #expect(waitUntil(seconds: 120) { rsyslog.messages().count >= 10_000 })
        let messages = rsyslog.messages()
        #expect(messages.map(\.text) == (1...10_000).map { "line \($0)" })
        #expect(messages.allSatisfy { $0.hostname == "myapp" && $0.appName == "app" && $0.procID == "web.1" })
        #expect(messages.first?.structuredData == "[drain@32473 token=\"\(drain.token)\"]")
        #expect(events.overflows.isEmpty)
    }

    @Test func aTLSDrainRefusesACertificateItCannotVerify() throws {
        let scratch = try ScratchDirectory("drain-untrusted")
        let certificates = try TestCertificates(in: scratch.path)
        let rsyslog = try PrivateRsyslog(folder: scratch.path, certificates: certificates)
        defer { rsyslog.stop() }
        let events = Events()
        // No CA bundle: the test CA is in none of the system's roots.
        let drains = AppDrains(app: "myapp", settings: DrainSettings()) { events.add($1) }
        defer { drains.stop() }
        drains.update([LogDrain(url: "syslog+tls://localhost:\(rsyslog.port)", token: LogDrain.newToken())])
        drains.send(Self.line(1))
        #expect(waitUntil(seconds: 30) { events.unreachable })
        #expect(
            events.all.first
                == .unreachable(
                    "the TLS handshake with localhost:\(rsyslog.port) failed: its "
                        + "certificate is not trusted (the operator's --drain-ca names a CA bundle) or not for that name"
                ))
        #expect(drains.delivered == 0)
        #expect(rsyslog.messages().isEmpty)
    }

    @Test func aDrainDownGetsItsBufferWhenItComesBackAndAnL10CountsTheRest() throws {
        let scratch = try ScratchDirectory("drain-down")
        let rsyslog = try PrivateRsyslog(folder: scratch.path, certificates: nil)
        defer { rsyslog.stop() }
        let events = Events()
        var settings = DrainSettings(bufferLines: 100)
        settings.maximumBackoff = .seconds(2)
        let drains = AppDrains(app: "myapp", settings: settings) { events.add($1) }
        defer { drains.stop() }
        drains.update([LogDrain(url: "syslog://127.0.0.1:\(rsyslog.port)", token: LogDrain.newToken())])
        drains.send(LogLine(date: Date(), source: "app", component: "web.1", text: "before"))
        #expect(waitUntil { rsyslog.messages().count == 1 })

        rsyslog.stop()
        drains.send(LogLine(date: Date(), source: "app", component: "web.1", text: "probe"))
        #expect(waitUntil { events.unreachable })
        for index in 1...250 { drains.send(Self.line(index)) }
        try rsyslog.start()
        #expect(waitUntil(seconds: 60) { rsyslog.messages().last?.text == "line 250" })
        let texts = rsyslog.messages().map(\.text).filter { $0.hasPrefix("line ") }
        #expect(texts == (151...250).map { "line \($0)" })
        #expect(waitUntil { events.overflows == [150] })
        #expect(events.all.contains(.recovered))
    }

    /// As in the runner, the drain's own lines (unreachable, delivers again, L10) go into the lines it sends: saying
    /// what it dropped must not push another line out of its full buffer, uncounted.
    @Test func theL10CountIsExactWhenTheDrainsOwnLinesGoToItToo() throws {
        let scratch = try ScratchDirectory("drain-exact")
        let rsyslog = try PrivateRsyslog(folder: scratch.path, certificates: nil)
        defer { rsyslog.stop() }
        let events = Events()
        var settings = DrainSettings(bufferLines: 100)
        settings.maximumBackoff = .seconds(2)
        settings.overflowInterval = .zero  // every drop reported at once: an uncounted one would show
        let drain = LogDrain(url: "syslog://127.0.0.1:\(rsyslog.port)", token: LogDrain.newToken())
        let box = DrainsBox()
        let drains = AppDrains(app: "myapp", settings: settings) { drain, event in
            events.add(event)
            box.drains?.send(event.logLine(drain))
        }
        box.drains = drains
        defer { drains.stop() }
        drains.update([drain])
        drains.send(Self.line(0))
        #expect(waitUntil { rsyslog.messages().count == 1 })

        rsyslog.stop()
        drains.send(LogLine(date: Date(), source: "app", component: "web.1", text: "probe"))
        #expect(waitUntil { events.unreachable })
        for index in 1...250 { drains.send(Self.line(index)) }
        try rsyslog.start()
        #expect(waitUntil(seconds: 60) { rsyslog.messages().contains { $0.text.hasPrefix("Error L10 ") } })
        // The unreachable line and lines 1 to 150 were dropped; everything after arrived, the drain's lines too.
        #expect(events.overflows == [151])
        let texts = rsyslog.messages().map(\.text)
        #expect(texts.filter { $0.hasPrefix("line ") } == ["line 0"] + (151...250).map { "line \($0)" })
        #expect(texts.suffix(2).first == "Drain \(drain.token) (\(drain.url)) delivers again")
        #expect(
            texts.last?.hasPrefix("Error L10 (output buffer overflow): drain '\(drain.token)' dropped 151 ") == true)
    }

    @Test func anHTTPSDrainPostsLogplexBatchesAndRetriesAFailedOne() throws {
        let scratch = try ScratchDirectory("drain-https")
        let certificates = try TestCertificates(in: scratch.path)
        let receiver = try LogplexReceiver(folder: scratch.path, certificates: certificates, failing: 1)
        defer { receiver.stop() }
        let drain = LogDrain(url: "https://user:pw@localhost:\(receiver.port)/logs?key=k", token: LogDrain.newToken())
        let events = Events()
        let drains = AppDrains(app: "myapp", settings: DrainSettings(caBundle: certificates.caFile)) { events.add($1) }
        defer { drains.stop() }
        for index in 1...1200 { drains.send(Self.line(index)) }  // no drain yet: nothing to send to
        drains.update([drain])
        for index in 1...1200 { drains.send(Self.line(index)) }
        #expect(waitUntil(seconds: 60) { drains.delivered == 1200 })
        let requests = receiver.requests()
        #expect(requests.first?.status == 500)
        let accepted = requests.filter { $0.status == 200 }
        #expect(requests.count >= 2 && requests[1].header("Logplex-Frame-Id") == requests[0].header("Logplex-Frame-Id"))
        #expect(Set(accepted.compactMap { $0.header("Logplex-Frame-Id") }).count == accepted.count)
        for request in requests {
            #expect(request.header("Content-Type") == "application/logplex-1")
            #expect(request.header("Logplex-Drain-Token") == drain.token)
            #expect(request.header("Authorization") == "Basic dXNlcjpwdw==")
            #expect(request.path == "/logs?key=k")
            #expect(request.header("Logplex-Msg-Count") == "\(request.messages.count)")
            #expect(request.messages.count <= 500)
        }
        let texts = accepted.flatMap(\.messages).map { $0.components(separatedBy: "] ").last ?? "" }
        #expect(texts == (1...1200).map { "line \($0)" })
        #expect(accepted.first?.messages.first?.contains(" myapp app web.1 - [drain@32473 ") == true)
    }
}

/// The app's drains, for their own report to reach (set once they are made).
final class DrainsBox: @unchecked Sendable {
    private let lock = NSLock()
    private var value: AppDrains?
    var drains: AppDrains? {
        get { lock.withLock { value } }
        set { lock.withLock { value = newValue } }
    }
}
