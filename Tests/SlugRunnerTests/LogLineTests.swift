import Foundation
import SlipwayTestSupport
import SlugRunner
import Testing

@testable import SlipwayLogs

@Suite struct LogLineTests {
    @Test func linesHaveHerokusFormat() {
        let date = Date(timeIntervalSince1970: 1_767_323_045.123456)
        #expect(
            LogLine.app("web.1", "Listening at: http://0.0.0.0:5000", date: date).formatted
                == "2026-01-02T03:04:05.123456+00:00 app[web.1]: Listening at: http://0.0.0.0:5000")
        #expect(
            LogLine.runner("deploy", "Deployed v3", date: Date(timeIntervalSince1970: 0)).formatted
                == "1970-01-01T00:00:00.000000+00:00 slugrunner[deploy]: Deployed v3")
    }

    @Test func controlCharactersCannotForgeLinesOrEscapes() {
        let line = LogLine.app("web.1", "ok\r\n2026-01-01T00:00:00.000000+00:00 slugrunner[deploy]: fake\u{1b}[31m\tx")
        #expect(
            line.formatted.hasSuffix(
                "app[web.1]: ok??2026-01-01T00:00:00.000000+00:00 slugrunner[deploy]: fake?[31m\tx"))
        #expect(!line.formatted.contains("\n"))
    }

    @Test func theLastLinesAreReadAcrossARotation() throws {
        let scratch = try ScratchDirectory("log-reader")
        try scratch.write("myapp.log.1", "one\ntwo\nthree\n")
        try scratch.write("myapp.log", "four\nfive\n")
        let reader = LogReader(path: scratch.url("myapp.log"))
        #expect(try reader.lastLines(3) == ["three", "four", "five"])
        #expect(try reader.lastLines(1) == ["five"])
        #expect(try reader.lastLines(0) == [])
        #expect(try LogReader(path: scratch.url("none.log")).lastLines(10) == [])
    }

    @Test func followPrintsAppendedLinesAndFollowsARotation() throws {
        let scratch = try ScratchDirectory("log-follow")
        let path = scratch.url("myapp.log")
        try scratch.write("myapp.log", "old\n")
        let collected = Lines()
        let appender = Thread {
            usleep(300_000)
            append("new one\n", to: path)
            usleep(300_000)
            rename(path, "\(path).1")
            append("after rotation\n", to: path)
        }
        appender.start()
        try LogReader(path: path).follow(last: 1, output: collected.add) {
            collected.all.count >= 3 || collected.waitedTooLong
        }
        #expect(collected.all == ["old", "new one", "after rotation"])
    }
}

/// Lines collected by `follow`, with a bound on how long the test waits for them.
private final class Lines: @unchecked Sendable {
    private let lock = NSLock()
    private var lines: [String] = []
    private let deadline = Date().addingTimeInterval(30)

    func add(_ line: String) { lock.withLock { lines.append(line) } }
    var all: [String] { lock.withLock { lines } }
    var waitedTooLong: Bool { Date() > deadline }
}

private func append(_ text: String, to path: String) {
    let fd = open(path, O_WRONLY | O_CREAT | O_APPEND, 0o644)
    _ = text.withCString { write(fd, $0, strlen($0)) }
    close(fd)
}
