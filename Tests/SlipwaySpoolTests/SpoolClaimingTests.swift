import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// Claiming: the one step where runners compete for an entry.
@Suite struct SpoolClaimingTests {
    @Test func claimMovesTheEntryToCurAndASecondClaimFailsClearly() throws {
        let fixture = try SpoolFixture()
        let name = try fixture.publish()
        let claimed = try fixture.spool.claim(name)
        #expect(claimed == "\(fixture.spool.directory)/cur/\(name)")
        #expect(try fixture.list("new").isEmpty)
        #expect(try fixture.list("cur") == [name])
        #expect(try fixture.spool.read(entryAt: claimed, key: fixture.runnerKey).0.version == 1)

        let error = #expect(throws: SpoolError.self) { try fixture.spool.claim(name) }
        #expect(error?.code == .notPending)
        #expect(error?.errorNumber == ENOENT)
        #expect(error?.description.contains("another runner claimed it") == true)
        #expect(error?.description.contains("\(fixture.spool.directory)/new/\(name)") == true)
    }

    @Test func racingClaimsHaveExactlyOneWinner() throws {
        let fixture = try SpoolFixture()
        let name = try fixture.publish()
        let spool = fixture.spool
        let results = ResultBox()
        let group = DispatchGroup()
        for _ in 0..<8 {
            group.enter()
            Thread.detachNewThread {
                defer { group.leave() }
                do {
                    _ = try spool.claim(name)
                    results.add("won")
                } catch let error as SpoolError {
                    results.add(error.code == .notPending ? "lost" : "error: \(error)")
                } catch {
                    results.add("error: \(error)")
                }
            }
        }
        #expect(group.wait(timeout: .now() + 30) == .success)
        #expect(results.values.sorted() == ["lost", "lost", "lost", "lost", "lost", "lost", "lost", "won"])
    }

    @Test func pendingIsSortedAndSkipsHiddenNamesAndFiles() throws {
        let fixture = try SpoolFixture()
        let base = Date(timeIntervalSince1970: 1_767_225_600)
        let third = try fixture.publish(app: "alpha", version: 2, date: base.addingTimeInterval(20))
        let first = try fixture.publish(app: "zulu", version: 1, date: base)
        let second = try fixture.publish(app: "alpha", version: 1, date: base.addingTimeInterval(10))
        try fixture.scratch.write("root/spool/new/.hidden-by-a-tool", "")
        try fixture.scratch.write("root/spool/new/stray-file", "")
        #expect(try fixture.spool.pending() == [first, second, third])
    }
}

/// Strings collected from several threads.
final class ResultBox: @unchecked Sendable {
    private let lock = NSLock()
    private var items: [String] = []
    func add(_ value: String) { lock.withLock { items.append(value) } }
    var values: [String] { lock.withLock { items } }
}

/// What a runner needs besides claiming: listing `cur/`, setting entries aside, dropping them, and reading a release
/// outside the spool.
@Suite struct SpoolRunnerHelperTests {
    @Test func claimedListsCurSortedWithoutHiddenNamesOrFiles() throws {
        let fixture = try SpoolFixture()
        let second = try fixture.publish(version: 2, date: Date(timeIntervalSince1970: 2_000_000_000))
        let first = try fixture.publish(version: 1, date: Date(timeIntervalSince1970: 1_000_000_000))
        _ = try fixture.spool.claim(second)
        _ = try fixture.spool.claim(first)
        try fixture.scratch.write("root/spool/cur/.hidden/x", "")
        try fixture.scratch.write("root/spool/cur/a-file", "")
        #expect(try fixture.spool.claimed() == [first, second])
    }

    @Test func setAsideMovesAClaimedEntryIntoTheRunnersFolderWithoutClobbering() throws {
        let fixture = try SpoolFixture()
        let name = try fixture.publish()
        _ = try fixture.spool.claim(name)
        let aside = try fixture.spool.setAside(name, into: "rejected")
        #expect(aside == "\(fixture.spool.directory)/rejected/\(name)")
        #expect(try fixture.list("rejected/\(name)") == ["release.json", "slug.tgz"])
        #expect(try fixture.spool.claimed().isEmpty)

        // The same name refused again (re-queued by hand) is kept next to the first.
        try FileManager.default.moveItem(atPath: aside, toPath: "\(fixture.spool.directory)/cur/\(name)")
        try FileManager.default.createDirectory(atPath: aside, withIntermediateDirectories: false)
        #expect(try fixture.spool.setAside(name, into: "rejected") == "\(aside).2")

        let missing = #expect(throws: SpoolError.self) { try fixture.spool.setAside(name, into: "failed") }
        #expect(missing?.code == .notPending)
        for folder in ["new", "cur", "tmp", "../x", ".hidden"] {
            #expect(throws: SpoolError.self) { try fixture.spool.setAside(name, into: folder) }
        }
    }

    @Test func removeDeletesTheClaimedEntryButNotTheServersSlug() throws {
        let fixture = try SpoolFixture()
        let name = try fixture.publish()
        let stored = fixture.scratch.url("store/myapp-1.tgz")
        _ = try fixture.spool.claim(name)
        try fixture.spool.remove(claimed: name)
        #expect(try fixture.spool.claimed().isEmpty)
        #expect(
            try String(contentsOfFile: stored, encoding: .utf8) == "slug of myapp v1\n", "the hard link's source stays")
        #expect(throws: SpoolError.self) { try fixture.spool.remove(claimed: "../new") }
    }

    @Test func readReleaseChecksAManifestAnywhere() throws {
        let fixture = try SpoolFixture()
        let slug = try fixture.scratch.write("out/slug.tgz", "a slug\n")
        var manifest = try fixture.manifest(slugPath: slug)
        manifest.version = nil
        try manifest.encoded().write(to: URL(fileURLWithPath: fixture.scratch.url("out/release.json")))
        let (read, slugPath) = try Spool.readRelease(manifestAt: fixture.scratch.url("out/release.json"))
        #expect(read.version == nil, "slugc's own output has no version, and is fine outside the spool")
        #expect(slugPath == slug)

        try fixture.scratch.write("out/slug.tgz", "b slug\n")
        let error = #expect(throws: SpoolError.self) {
            try Spool.readRelease(manifestAt: fixture.scratch.url("out/release.json"))
        }
        #expect(error?.code == .slugMismatch)
    }
}
