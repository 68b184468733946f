import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

/// What a killed push can leave, and how recovery finishes or undoes it.
@Suite struct RecoveryTests {
    struct Fixture {
        let scratch: ScratchDirectory
        let root: SlipwayRoot
        let app: AppPaths
        let spool: Spool
        let slugSHA = String(repeating: "a", count: 64)

        init() throws {
            scratch = try ScratchDirectory("recovery")
            root = SlipwayRoot(scratch.url("root"))
            app = root.app("myapp")
            spool = Spool(directory: root.spoolDirectory)
            try spool.prepare()
            _ = try AppRegistry(root: root).create("myapp", owner: "alice")
            try scratch.write("root/apps/myapp/slugs/\(slugSHA).tgz", "slug bytes")
        }

        func manifest(_ version: Int, commit: String = "1a2b3c4d") -> ReleaseManifest {
            var manifest = ReleaseManifest(
                app: "myapp", stack: "slipway-1", sourceVersion: commit, buildpacks: [], processTypes: ["web": "x"],
                configVars: [:], addons: [], slug: .init(path: "slug.tgz", size: 10, sha256: slugSHA),
                createdAt: "2026-01-01T00:00:00Z", timings: [:])
            manifest.version = version
            manifest.description = "Deploy"
            manifest.user = "alice"
            return manifest
        }

        /// `manifest` signed as the door publishes it.
        func signed(_ manifest: ReleaseManifest) throws -> Data {
            try SignedRelease.seal(manifest, with: try ServerSetup.releaseKey(root))
        }

        func ledgerEntry(_ version: Int) -> LedgerEntry {
            LedgerEntry(
                version: version, description: "Deploy", user: "alice", sourceVersion: "1a2b3c4d", slugSHA256: slugSHA,
                buildpacks: [], processTypes: ["web": "x"], configVars: [:], createdAt: "2026-01-01T00:00:00Z")
        }
    }

    /// Killed after the ledger line, before the rename: the entry is complete in tmp/ and recovery publishes it.
    @Test func aRecordedReleaseLeftInTmpIsHandedOver() throws {
        let f = try Fixture()
        let name = Spool.entryName(app: "myapp", version: 1)
        _ = try f.spool.prepare(
            name: name, manifest: try f.signed(f.manifest(1)), slugPath: "\(f.app.slugs)/\(f.slugSHA).tgz")
        _ = try ReleaseLedger(path: f.app.ledger).append { f.ledgerEntry($0) }
        #expect(try f.spool.pending().isEmpty)
        let outcome = try ReleaseRecovery.recover(app: f.app, root: f.root)
        #expect(outcome.republished == [1])
        #expect(try f.spool.pending() == [name])
        #expect(try f.spool.temporaryEntries().isEmpty)
        #expect(try ReleaseRecovery.recover(app: f.app, root: f.root) == .init(), "a second run has nothing to do")
    }

    /// Killed before the ledger line: the tmp/ entry was never a release and recovery removes it; another app's
    /// entry being written is left alone.
    @Test func anUnrecordedEntryIsDiscarded() throws {
        let f = try Fixture()
        let slug = "\(f.app.slugs)/\(f.slugSHA).tgz"
        _ = try f.spool.prepare(
            name: Spool.entryName(app: "myapp", version: 1), manifest: try f.signed(f.manifest(1)), slugPath: slug)
        var other = f.manifest(3)
        other.app = "other"
        let othersName = Spool.entryName(app: "other", version: 3)
        _ = try f.spool.prepare(name: othersName, manifest: try f.signed(other), slugPath: slug)
        let outcome = try ReleaseRecovery.recover(app: f.app, root: f.root)
        #expect(outcome.discarded == 1 && outcome.republished.isEmpty)
        #expect(try f.spool.temporaryEntries() == [othersName])
        #expect(try f.spool.pending().isEmpty)
    }

    /// The operator's `receive-pack recover` goes through every app.
    @Test func recoverAllReportsWhatItDid() throws {
        let f = try Fixture()
        _ = try f.spool.prepare(
            name: Spool.entryName(app: "myapp", version: 1), manifest: try f.signed(f.manifest(1)),
            slugPath: "\(f.app.slugs)/\(f.slugSHA).tgz")
        _ = try ReleaseLedger(path: f.app.ledger).append { f.ledgerEntry($0) }
        let report = try ReleaseRecovery.recoverAll(root: f.root, waitLimit: .seconds(5))
        #expect(report == ["myapp: handed over v1 to the spool"])
        #expect(try ReleaseRecovery.recoverAll(root: f.root, waitLimit: .seconds(5)).isEmpty)
        #expect(throws: DoorError.self) {
            try ReleaseRecovery.recoverAll(root: f.root, apps: ["nosuch"], waitLimit: .seconds(1))
        }
    }
}
