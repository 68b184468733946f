import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwayRouting
@testable import SlugRunner

@Suite struct RouterLogLineTests {
    /// An access-log line as Caddy 2.6 writes it with ``CaddyConfig``'s configuration.
    func caddyLine(
        uri: String = "/x", host: String = "python-app.localhost", tag: String = "python-app web.2 ",
        status: Int = 200, duration: Double = 0.0034, size: Int = 307
    ) throws -> Data {
        let object: [String: Any] = [
            "level": "info", "ts": 1_796_001_826.969294, "logger": "http.log.access.slipway", "msg": "handled request",
            "request": [
                "remote_ip": "127.0.0.1", "remote_port": "41546", "proto": "HTTP/1.1", "method": "GET", "host": host,
                "uri": uri, "headers": ["Accept": ["*/*"]],
            ],
            "user_id": tag, "duration": duration, "size": size, "status": status,
            "resp_headers": ["X-Request-Id": ["8b8f988a-11fc-4360-8329-4c101592e291"]],
        ]
        return try JSONSerialization.data(withJSONObject: object)
    }

    @Test func aRequestBecomesHerokusRouterLine() throws {
        let line = try #require(RouterLogLine(accessLogLine: try caddyLine()))
        #expect(line.app == "python-app")
        #expect(
            line.line
                == "at=info method=GET path=\"/x\" host=python-app.localhost"
                + " request_id=8b8f988a-11fc-4360-8329-4c101592e291 fwd=\"127.0.0.1\" dyno=web.2 connect=0ms"
                + " service=3ms status=200 bytes=307 protocol=http")
        #expect(line.date == Date(timeIntervalSince1970: 1_796_001_826.969294))
    }

    @Test func routerErrorsCarryTheirCode() throws {
        let timeout = try #require(
            RouterLogLine(
                accessLogLine: try caddyLine(tag: "python-app web.1 H12", status: 503, duration: 30.0012, size: 900)))
        #expect(timeout.line.hasPrefix("at=error code=H12 desc=\"Request timeout\" method=GET path=\"/x\""))
        #expect(timeout.line.contains("dyno=web.1 connect=0ms service=30001ms status=503 bytes=900"))
        let idle = try #require(RouterLogLine(accessLogLine: try caddyLine(tag: "idle-app - H14", status: 503)))
        #expect(idle.app == "idle-app")
        #expect(idle.line.hasPrefix("at=error code=H14 desc=\"No web processes running\""))
        #expect(idle.line.contains(" dyno= connect=0ms"))
    }

    @Test func linesOfNoAppAreDropped() throws {
        #expect(RouterLogLine(accessLogLine: try caddyLine(host: "nope.localhost", tag: "", status: 404)) == nil)
        #expect(RouterLogLine(accessLogLine: try caddyLine(tag: "../etc web.1 ")) == nil)
        #expect(RouterLogLine(accessLogLine: Data("not json".utf8)) == nil)
        #expect(RouterLogLine(accessLogLine: Data("{\"level\":\"info\",\"msg\":\"other\"}".utf8)) == nil)
    }

    @Test func clientTextCannotBreakTheLine() throws {
        for fragment in hostileFragments {
            let hostile = "/a\(fragment)b\(fragment) dyno=web.9 status=200"
            let line = try #require(RouterLogLine(accessLogLine: try caddyLine(uri: hostile, host: "h\(fragment)")))
            // One line, and every field still where it was.
            #expect(!line.line.contains { $0.isNewline })
            #expect(!line.line.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7f })
            #expect(line.line.components(separatedBy: " dyno=web.2 ").count == 2)
            #expect(line.line.hasSuffix("status=200 bytes=307 protocol=http"))
        }
        let long = try #require(
            RouterLogLine(accessLogLine: try caddyLine(uri: "/" + String(repeating: "a", count: 5000))))
        #expect(long.line.count < 1300)
    }

    @Test func theReaderReturnsCompleteLinesAndEmptiesTheFile() throws {
        let scratch = try ScratchDirectory("access-log")
        let reader = AccessLogReader(path: scratch.url("access.log"), truncateAfter: 12)
        try reader.reset()
        #expect(reader.readLines().isEmpty)
        let handle = try #require(FileHandle(forWritingAtPath: scratch.url("access.log")))
        defer { try? handle.close() }
        try handle.seekToEnd()
        handle.write(Data("one\ntwo\nthr".utf8))
        #expect(reader.readLines() == ["one", "two"])
        try handle.seekToEnd()
        handle.write(Data("ee\n".utf8))
        #expect(reader.readLines() == ["three"])
        // Past 12 bytes read and nothing new: emptied.
        #expect(try scratch.read("access.log").isEmpty)
        try handle.seekToEnd()
        handle.write(Data("four\n".utf8))
        #expect(reader.readLines() == ["four"])
    }
}
