import Foundation
import SlipwayMetrics
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// The store under the root: what the recorder writes survives a new recorder (a runner restart), ages out after
/// 24 hours and stays under its bound.
@Suite struct MetricsStoreTests {
    static let start = Date(timeIntervalSince1970: 1_800_000_000)  // on a whole hour

    @Test func aNewRecorderAddsToTheMinuteTheLastOneWrote() throws {
        let scratch = try ScratchDirectory("metrics-restart")
        let layout = RootLayout(scratch.url("root"))
        let first = MetricsRecorder(layout: layout)
        for index in 0..<10 {
            first.request(
                app: "myapp", date: Self.start + 5, dyno: "web.\(index % 2 + 1)", status: index < 8 ? 200 : 503,
                code: index < 8 ? nil : "H12", milliseconds: Double(index * 10))
        }
        first.memory(app: "myapp", type: "web", bytes: 100 << 20, date: Self.start + 6)
        first.memory(app: "myapp", type: "web", bytes: 50 << 20, date: Self.start + 7)
        #expect(first.flush(now: Self.start + 8, force: true).isEmpty)

        let second = MetricsRecorder(layout: layout)
        second.request(app: "myapp", date: Self.start + 30, dyno: "web.1", status: 404, code: nil, milliseconds: 7)
        #expect(second.flush(now: Self.start + 31, force: true).isEmpty)

        let store = MetricsStore(folder: layout.runnerMetrics("myapp"))
        let report = MetricsReport(app: "myapp", store: store, query: .init(json: true), now: Self.start + 40)
        let json = try #require(
            try JSONSerialization.jsonObject(with: Data(try report.json().utf8)) as? [String: Any])
        let total = try #require(json["total"] as? [String: Any])
        #expect(total["requests"] as? Int == 11)
        #expect(total["responses"] as? [String: Int] == ["2xx": 8, "4xx": 1, "5xx": 2])
        #expect(total["errors"] as? [String: Int] == ["H12": 2])
        let memory = try #require((total["memory"] as? [String: Any])?["web"] as? [String: Any])
        #expect(memory["max_mb"] as? Double == 100 && memory["mean_mb"] as? Double == 75)
        #expect((json["minutes"] as? [Any])?.count == 1)
        #expect(MetricsReport.requestShares(folder: store.folder, now: Self.start + 40) == ["web.1": 55, "web.2": 45])
    }

    @Test func aDayOfMinutesStaysUnderTheBoundAndOlderHoursGo() throws {
        let scratch = try ScratchDirectory("metrics-day")
        let layout = RootLayout(scratch.url("root"))
        let bound: Int64 = 1 << 20
        let recorder = MetricsRecorder(layout: layout, maxBytes: bound, flushInterval: 600)
        let store = MetricsStore(folder: layout.runnerMetrics("myapp"), maxBytes: bound)
        var largest: Int64 = 0
        // 26 hours of minutes, each with 40 requests of distinct service times (so every minute keeps 40 buckets),
        // and memory samples.
        for minute in 0..<(26 * 60) {
            let date = Self.start + Double(minute * 60)
            for index in 0..<40 {
                recorder.request(
                    app: "myapp", date: date + 1, dyno: "web.\(index % 3 + 1)", status: 200, code: nil,
                    milliseconds: Double((minute * 7 + index * 13) % 900) + 0.25)
            }
            recorder.memory(app: "myapp", type: "web", bytes: Int64(minute) << 10, date: date + 2)
            #expect(recorder.flush(now: date + 3).isEmpty)
            largest = max(largest, store.bytesOnDisk())
        }
        #expect(recorder.flush(now: Self.start + Double(26 * 3600 - 1), force: true).isEmpty)
        #expect(largest <= bound + 64 * 1024, "at most one hour's file past the bound between two prunes")
        #expect(store.bytesOnDisk() <= bound)
        let hours = store.hours()
        let lastHour = Int(Self.start.timeIntervalSince1970) / 3600 + 25
        #expect(hours.last == lastHour)
        #expect(hours.count <= MetricsStore.retentionHours)
        #expect(store.minutes(ofHour: lastHour).count == 60)
        #expect(store.minutes(ofHour: lastHour).allSatisfy { $0.types["web"]?.requests == 40 })
    }

    @Test func theQueryWordsAreCheckedAndNamedInTheRefusal() throws {
        let query = try MetricsReport.parse(
            ["--type", "web", "--since", "30m", "--json"], isProcessType: { _ in true })
        #expect(query == .init(type: "web", seconds: 1800, json: true))
        #expect(throws: MetricsReport.QueryError.self) {
            try MetricsReport.parse(["--since", "2w"], isProcessType: { _ in true })
        }
        #expect(throws: MetricsReport.QueryError.self) {
            try MetricsReport.parse(["--since", "25h"], isProcessType: { _ in true })
        }
    }

    @Test func thePrometheusPageLabelsEveryFigureByAppAndType() throws {
        let scratch = try ScratchDirectory("metrics-prometheus")
        let endpoint = MetricsEndpoint()
        let port = try endpoint.start(host: "127.0.0.1", port: 0)
        defer { endpoint.stop() }
        let recorder = MetricsRecorder(layout: RootLayout(scratch.url("root")), endpoint: endpoint)
        recorder.request(app: "my\"app", date: Date(), dyno: "web.1", status: 200, code: nil, milliseconds: 12)
        recorder.flush()
        let page = try runTool(["/usr/bin/curl", "-s", "http://127.0.0.1:\(port)/metrics"]).stdout
        #expect(page.contains("slipway_requests_total{app=\"my\\\"app\",type=\"web\",class=\"2xx\"} 1\n"), "\(page)")
        #expect(page.contains("slipway_service_time_seconds_bucket{app=\"my\\\"app\",type=\"web\",le=\"0.025\"} 1\n"))
        let missing = try runTool([
            "/usr/bin/curl", "-s", "-o", "/dev/null", "-w", "%{http_code}", "http://127.0.0.1:\(port)/",
        ])
        #expect(missing.stdout == "404")
    }
}
