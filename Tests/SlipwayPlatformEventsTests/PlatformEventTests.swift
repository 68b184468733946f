import Foundation
import SlipwayLogs
import SlipwayPlatformEvents
import SlipwayTestSupport
import Testing

/// The door's events: their names, their lines, and the folder store and the runner's reader, on a scratch folder.
@Suite struct PlatformEventTests {
    @Test func namesSortAsBytesInTheOrderTheyWereMadeEvenWhenTheClockStepsBack() {
        let first = PlatformEventName.next(after: nil, now: 1_767_225_600_123)
        #expect(first.description == "1767225600123-000000.json")
        let second = PlatformEventName.next(after: first, now: 1_767_225_600_123)
        let third = PlatformEventName.next(after: second, now: 1_767_225_599_000)  // the clock stepped back
        let fourth = PlatformEventName.next(after: third, now: 1_767_225_600_124)
        let names = [first, second, third, fourth]
        #expect(names.map(\.description) == names.map(\.description).sorted())
        #expect(names == names.sorted() && Set(names).count == 4)
        #expect(third.description == "1767225600123-000002.json")
        #expect(PlatformEventName("1767225600123-000002.json") == third)
        for bad in ["1767225600123-000002.json.tmp-1-x", "176722560012-000002.json", "1767225600123-00000a.json", ""] {
            #expect(PlatformEventName(bad) == nil, "\(bad)")
        }
    }

    @Test func eachKindHasHerokusLineAndAnUnknownKindNone() throws {
        let started = PlatformEvent(.buildStarted, app: "myapp", user: "alice", buildID: "b1")
        #expect(started.logLine()?.formatted.hasSuffix(" slugrunner[api]: Build started by user alice") == true)
        #expect(PlatformEvent(.buildSucceeded, app: "myapp", user: "alice").text == "Build succeeded")
        #expect(
            PlatformEvent(.buildFailed, app: "myapp", user: "alice", buildID: "b1").text
                == "Build failed -- check your build output: builds:output myapp b1")
        #expect(
            PlatformEvent(.releaseCreated, app: "myapp", user: "alice", release: 3, description: "Deploy 8f47482").text
                == "Release v3 created by user alice (Deploy 8f47482)")
        let long = PlatformEvent(
            .releaseCreated, app: "myapp", user: String(repeating: "u", count: 500), release: 4,
            description: String(repeating: "d", count: 5000))
        #expect(long.text?.count == "Release v4 created by user  ()".count + 64 + 200)
        var future = started
        future.kind = "dyno-crashed"
        #expect(future.text == nil && future.logLine() == nil)
        #expect(PlatformEvent.decode(try started.encoded()) == started)
        var newer = started
        newer.version = 2
        #expect(PlatformEvent.decode(try newer.encoded()) == nil, "a newer format is not read")
    }

    @Test func theReaderWritesEachEventOnceInOrderAcrossItsRestarts() throws {
        let scratch = try ScratchDirectory("platform-events")
        let store = FolderEventStore(spoolDirectory: scratch.url("spool"))
        let cursorFolder = scratch.url("runner")
        let reader = PlatformEventReader(store: store) { "\(cursorFolder)/\($0)/platform-events" }
        try store.record(PlatformEvent(.buildStarted, app: "myapp", user: "alice", buildID: "b1"))
        try store.record(PlatformEvent(.buildSucceeded, app: "myapp", user: "alice", buildID: "b1"))
        try store.record(
            PlatformEvent(.releaseCreated, app: "myapp", user: "alice", release: 1, description: "Deploy 1a2b3c4"))
        try store.record(PlatformEvent(.buildStarted, app: "other", user: "bob", buildID: "b2"))
        // A temporary file a killed writer left is not an event.
        _ = try scratch.write("spool/events/myapp/1767225600123-000000.json.tmp-1-x", "{")

        var lines: [String: [String]] = [:]
        reader.takeAll { app, line in lines[app, default: []].append(line.text) }
        #expect(
            lines == [
                "myapp": [
                    "Build started by user alice", "Build succeeded",
                    "Release v1 created by user alice (Deploy 1a2b3c4)",
                ],
                "other": ["Build started by user bob"],
            ])
        // Nothing twice, neither now nor from a reader started again (the runner's restart).
        let again = PlatformEventReader(store: store, cursor: reader.cursor)
        #expect(again.take("myapp") { _ in } == 0)
        try store.record(PlatformEvent(.buildFailed, app: "myapp", user: "alice", buildID: "b3"))
        var after: [LogLine] = []
        #expect(again.take("myapp") { after.append($0) } == 1)
        #expect(after.map(\.formatted).allSatisfy { $0.contains(" slugrunner[api]: Build failed -- ") })
    }

    @Test func theStoreKeepsAHundredEventsPerApp() throws {
        let scratch = try ScratchDirectory("platform-events-bound")
        let store = FolderEventStore(spoolDirectory: scratch.url("spool"))
        for index in 1...130 {
            try store.record(
                PlatformEvent(.releaseCreated, app: "myapp", user: "alice", release: index, description: "Deploy"))
        }
        let names = store.names("myapp")
        #expect(names.count == FolderEventStore.kept)
        #expect(store.read("myapp", try #require(names.first))?.release == 31)
        #expect(store.read("myapp", try #require(names.last))?.release == 130)
    }
}
