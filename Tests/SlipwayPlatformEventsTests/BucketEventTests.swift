import Foundation
import SlipwayHTTP
import SlipwayLogs
import SlipwayObjectStore
import SlipwayPlatformEvents
import SlipwayTestSupport
import Testing

/// The door's events in a bucket spool (a real SeaweedFS on loopback): recorded create-only under `events/`, kept
/// bounded, and copied by a runner into its own root, where its reader writes each once.
@Suite(.serialized) struct BucketEventTests {
    @Test func eventsRecordedInTheBucketReachARunnersRootOnceAndInOrder() throws {
        let scratch = try ScratchDirectory("bucket-events")
        let weed = try PrivateSeaweedFS(directory: try scratch.makeDirectory("weed"), buckets: ["spool"])
        defer { weed.stop() }
        let location = S3Location(bucket: "spool", prefix: "prod", endpoint: weed.endpoint, pathStyle: true)
        let credentials = S3Credentials(accessKeyID: weed.accessKey, secretAccessKey: weed.secretKey)
        #expect(
            waitUntil(seconds: 60) {
                (try? Blocking.withClient(location, credentials) { try await $0.list("").count }) != nil
            }, "the bucket never appeared")
        func record(_ event: PlatformEvent) throws {
            _ = try Blocking.withClient(location, credentials) { try await BucketEventStore.record(event, client: $0) }
        }
        func mirror(_ store: FolderEventStore) throws -> Int {
            try Blocking.withClient(location, credentials) {
                try await BucketEventStore.mirror(client: $0, into: store)
            }
        }
        try record(PlatformEvent(.buildStarted, app: "myapp", user: "alice", buildID: "b1"))
        try record(PlatformEvent(.buildSucceeded, app: "myapp", user: "alice", buildID: "b1"))
        try record(
            PlatformEvent(.releaseCreated, app: "myapp", user: "alice", release: 1, description: "Deploy 1a2b3c4"))
        let keys = try Blocking.withClient(location, credentials) { try await $0.list("events/") }.map(\.key)
        #expect(keys.count == 3 && keys.allSatisfy { BucketEventStore.parse($0)?.app == "myapp" }, "\(keys)")

        // A runner on another machine: its own root's copy, then its reader.
        let store = FolderEventStore(spoolDirectory: scratch.url("runner/spool"))
        let reader = PlatformEventReader(store: store) { [path = scratch.url("runner/runner")] in "\(path)/\($0)/cursor"
        }
        #expect(try mirror(store) == 3)
        #expect(try mirror(store) == 0, "nothing is copied twice")
        var lines: [String] = []
        reader.take("myapp") { lines.append($0.text) }
        #expect(
            lines == [
                "Build started by user alice", "Build succeeded", "Release v1 created by user alice (Deploy 1a2b3c4)",
            ])
        try record(PlatformEvent(.buildFailed, app: "myapp", user: "alice", buildID: "b2"))
        #expect(try mirror(store) == 1)
        lines = []
        reader.take("myapp") { lines.append($0.text) }
        #expect(lines == ["Build failed -- check your build output: builds:output myapp b2"])

        // Bounded: the door deletes the oldest past the kept number.
        for index in 2...(FolderEventStore.kept + 5) {
            try record(PlatformEvent(.releaseCreated, app: "myapp", user: "alice", release: index))
        }
        let kept = try Blocking.withClient(location, credentials) { try await $0.list("events/myapp/") }
        #expect(kept.count == FolderEventStore.kept)
        #expect(try mirror(store) == FolderEventStore.kept, "the newest kept, all newer than what it had")
        #expect(store.names("myapp").count == FolderEventStore.kept)
    }
}
