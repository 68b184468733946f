import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

@Suite struct LedgerTests {
    /// A ledger in a fresh app folder.
    struct Fixture {
        let scratch: ScratchDirectory
        let path: String
        var ledger: ReleaseLedger { ReleaseLedger(path: path) }

        init() throws {
            scratch = try ScratchDirectory("ledger")
            path = "\(try scratch.makeDirectory("apps/myapp"))/releases.jsonl"
        }

        var text: String { (try? String(contentsOfFile: path, encoding: .utf8)) ?? "" }

        func appendRaw(_ text: String) throws {
            let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
            try handle.seekToEnd()
            try handle.write(contentsOf: Data(text.utf8))
            try handle.close()
        }
    }

    static func entry(_ version: Int, _ description: String = "Deploy 1a2b3c4", user: String? = "alice") -> LedgerEntry
    {
        LedgerEntry(
            version: version, description: description, user: user, sourceVersion: "1a2b3c4d5e6f",
            slugSHA256: String(repeating: "c", count: 64), buildpacks: [.init(url: "python", name: "Python")],
            processTypes: ["web": "gunicorn app:app"], configVars: ["GREETING": "hello", "URL": "https://x.invalid/a"],
            createdAt: "2026-01-02T03:04:05Z")
    }

    @Test func appendNumbersReleasesFromOne() throws {
        let fixture = try Fixture()
        #expect(try fixture.ledger.entries().isEmpty, "no file yet: no releases")
        #expect(try fixture.ledger.latest() == nil)
        var seen: [Int] = []
        for _ in 0..<3 {
            let entry = try fixture.ledger.append { version in
                seen.append(version)
                return Self.entry(version)
            }
            #expect(entry.version == seen.last)
        }
        #expect(seen == [1, 2, 3])
        let mode = try FileManager.default.attributesOfItem(atPath: fixture.path)[.posixPermissions] as? Int
        #expect(mode == 0o600, "entries carry config vars")
        #expect(try fixture.ledger.entries().map(\.version) == [1, 2, 3])
        #expect(
            fixture.text.split(separator: "\n", omittingEmptySubsequences: false).count == 4, "3 lines + final newline")
    }

    @Test func entriesRoundTripWithSnakeCaseKeys() throws {
        let fixture = try Fixture()
        let first = try fixture.ledger.append { Self.entry($0) }
        let second = try fixture.ledger.append { Self.entry($0, "Set GREETING config vars", user: nil) }
        let third = try fixture.ledger.append { Self.entry($0, "Rollback to v1") }
        #expect(try fixture.ledger.entries() == [first, second, third])
        #expect(try fixture.ledger.latest() == third)
        #expect(try fixture.ledger.entry(version: 2) == second)
        #expect(try fixture.ledger.entry(version: 9) == nil)

        let firstLine = String(try #require(fixture.text.split(separator: "\n").first))
        for key in [
            "\"slug_sha256\":", "\"source_version\":", "\"process_types\":", "\"config_vars\":", "\"created_at\":",
        ] {
            #expect(firstLine.contains(key), "\(key)")
        }
        #expect(firstLine.contains("https://x.invalid/a"), "slashes are not escaped")
        #expect(!fixture.text.split(separator: "\n")[1].contains("\"user\""), "a nil user is left out")
    }

    @Test func aTornLastLineIsIgnoredAndRepairedByTheNextAppend() throws {
        let fixture = try Fixture()
        _ = try fixture.ledger.append { Self.entry($0) }
        _ = try fixture.ledger.append { Self.entry($0) }
        // A writer killed mid-write: half a line, no newline.
        try fixture.appendRaw(#"{"version":3,"description":"Deploy 9f8e7d"#)
        #expect(try fixture.ledger.entries().map(\.version) == [1, 2])
        #expect(try fixture.ledger.latest()?.version == 2)

        let next = try fixture.ledger.append { Self.entry($0) }
        #expect(next.version == 3)
        #expect(try fixture.ledger.entries().map(\.version) == [1, 2, 3])
        #expect(!fixture.text.contains("9f8e7d"), "the torn tail was cut off")
        #expect(fixture.text.hasSuffix("}\n"))
    }

    @Test func aTornLastLineWithANewlineIsAlsoIgnored() throws {
        // A crash can leave the file's length updated but its last block unwritten (zeros).
        let fixture = try Fixture()
        _ = try fixture.ledger.append { Self.entry($0) }
        try fixture.appendRaw("\0\0\0\0\n")
        #expect(try fixture.ledger.entries().map(\.version) == [1])
        #expect(try fixture.ledger.append { Self.entry($0) }.version == 2)
        #expect(try fixture.ledger.entries().map(\.version) == [1, 2])
    }

    @Test func corruptionBeforeTheLastLineThrowsNamingTheLine() throws {
        let fixture = try Fixture()
        _ = try fixture.ledger.append { Self.entry($0) }
        try fixture.appendRaw("this is not json\n")
        _ = try fixture.ledger.append { Self.entry($0) }  // the bad line was last: repaired, so this is v2
        #expect(try fixture.ledger.entries().map(\.version) == [1, 2])

        let fixture2 = try Fixture()
        _ = try fixture2.ledger.append { Self.entry($0) }
        try fixture2.appendRaw("this is not json\n")
        try fixture2.appendRaw(String(decoding: try JSONEncoder().encode(Self.entry(2)), as: UTF8.self) + "\n")
        let before = fixture2.text
        let error = #expect(throws: DoorError.self) { try fixture2.ledger.entries() }
        #expect(error?.code == .corruptLedger)
        #expect(error?.text.contains("line 2 ") == true)
        #expect(error?.description.contains("\(fixture2.path): line 2 is not a valid release entry") == true)
        #expect(throws: DoorError.self) { try fixture2.ledger.append { Self.entry($0) } }
        #expect(fixture2.text == before, "a corrupt ledger is left alone for a human")
    }

    @Test func versionsThatDoNotIncreaseAreCorruption() throws {
        let fixture = try Fixture()
        _ = try fixture.ledger.append { Self.entry($0) }
        try fixture.appendRaw(String(decoding: try JSONEncoder().encode(Self.entry(1)), as: UTF8.self) + "\n")
        let error = #expect(throws: DoorError.self) { try fixture.ledger.entries() }
        #expect(error?.text.contains("line 2 ") == true)
        #expect(error?.description.contains("line 2 has v1 after v1") == true)
    }

    @Test func aThrowingMakeAppendsNothing() throws {
        struct Refused: Error {}
        let fixture = try Fixture()
        _ = try fixture.ledger.append { Self.entry($0) }
        let before = fixture.text
        #expect(throws: Refused.self) { try fixture.ledger.append { _ in throw Refused() } }
        #expect(fixture.text == before)
        let wrong = #expect(throws: DoorError.self) { try fixture.ledger.append { Self.entry($0 + 5) } }
        #expect(wrong?.code == .wrongLedgerVersion)
        #expect(fixture.text == before)
        #expect(try fixture.ledger.append { Self.entry($0) }.version == 2, "the version was not used up")
    }

    @Test func aMissingAppFolderIsAClearError() throws {
        let scratch = try ScratchDirectory("ledger")
        let path = scratch.url("apps/ghost/releases.jsonl")
        #expect(try ReleaseLedger(path: path).entries().isEmpty)
        let error = #expect(throws: DoorError.self) { try ReleaseLedger(path: path).append { Self.entry($0) } }
        #expect(error?.code == .ledgerFailed)
        #expect(error?.systemError?.errno == ENOENT)
        #expect(error?.description.contains("\(path): open failed: No such file or directory") == true)
    }

    @Test func concurrentAppendsFromEightThreadsGetDistinctIncreasingVersions() throws {
        let fixture = try Fixture()
        let path = fixture.path
        let versions = VersionBox()
        let group = DispatchGroup()
        let start = DispatchSemaphore(value: 0)
        for thread in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                start.wait()
                // Each thread has its own ledger value, hence its own open file and lock, as separate processes do.
                let ledger = ReleaseLedger(path: path)
                do {
                    let entry = try ledger.append { version in
                        usleep(2_000)  // widen the window in which a missing lock would show
                        return Self.entry(version, "Deploy from thread \(thread)")
                    }
                    versions.add(entry.version)
                } catch {
                    versions.fail("\(error)")
                }
            }
        }
        for _ in 0..<8 { start.signal() }
        #expect(group.wait(timeout: .now() + 60) == .success)
        #expect(versions.failures.isEmpty)
        #expect(versions.values.sorted() == Array(1...8))
        #expect(try fixture.ledger.entries().map(\.version) == Array(1...8))
        #expect(fixture.text.split(separator: "\n").count == 8)
    }
}

/// Versions collected from several threads.
final class VersionBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [Int] = []
    private var errors: [String] = []
    func add(_ value: Int) { lock.withLock { items.append(value) } }
    func fail(_ message: String) { lock.withLock { errors.append(message) } }
    var values: [Int] { lock.withLock { items } }
    var failures: [String] { lock.withLock { errors } }
}
