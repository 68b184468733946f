import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

#if canImport(Glibc)
    import Glibc
#endif

/// The server's disk fills up during a push: while the tree is extracted, while a buildpack compiles, while the slug
/// is packed, while the release is published. Each time the push fails with a clear line, the previous release stays
/// current and intact, and nothing is left behind. The server's root is a small tmpfs (mounting one needs root).
@Suite(.serialized, .enabled(if: geteuid() == 0)) struct DiskFullTests {
    /// A server whose root is a 24 MB tmpfs, with v1 released from a small app; the resource watchdog is off, so
    /// the disk really fills.
    func serverWithARelease() throws -> (PushHarness, repo: String, v1: String) {
        let h = try PushHarness("diskfull", sessionEnvironment: ["SLIPWAY_MIN_FREE_MB": "0"], rootSizeMB: 24)
        let bp = try h.buildpack(
            compile: #"if [ -e "$1/bulk.sh" ]; then bash "$1/bulk.sh" "$1"; fi; echo '-----> compiled'"#)
        let repo = try h.makeApp(files: ["Procfile": "web: x\n", ".buildpacks": "\(bp)\n"])
        let first = try h.push(repo)
        #expect(first.status == 0, "\(first.output)")
        return (h, repo, try #require(try h.serverRef()))
    }

    /// What must hold after a push the full disk stopped.
    func expectNothingChanged(_ h: PushHarness, v1: String, _ result: ToolResult, mentions: String) throws {
        #expect(result.status != 0, "\(result.output)")
        #expect(result.output.contains(mentions), "\(result.output)")
        #expect(!result.output.contains("Fatal error") && !result.output.contains("Stack dump"), "no crash")
        #expect(!result.output.contains(h.root), "no server path: \(result.output)")
        #expect(try h.serverRef() == v1, "the branch did not move")
        let entries = try h.spoolEntries()
        #expect(entries.map(\.manifest.version) == [1], "nothing new in the spool")
        for entry in entries {
            #expect(
                try Spool.sha256(ofFile: "\(h.root)/spool/new/\(entry.name)/slug.tgz") == entry.manifest.slug.sha256)
        }
        #expect(h.spoolTemporaries().isEmpty)
        #expect(
            waitUntil { ((try? FileManager.default.contentsOfDirectory(atPath: "\(h.root)/tmp")) ?? ["?"]).isEmpty })
        let ledger = try String(contentsOfFile: "\(h.root)/apps/myapp/releases.jsonl", encoding: .utf8)
        #expect(ledger.split(separator: "\n").count == 1)
    }

    @Test func whileTheTreeIsExtracted() throws {
        let (h, repo, v1) = try serverWithARelease()
        // 40 MB of zeros: a tiny git pack, too big for the disk once written out.
        try Data(count: 40 << 20).write(to: URL(fileURLWithPath: "\(repo)/zeros.bin"))
        try git(["add", "-A"], in: repo)
        try git(["commit", "-q", "-m", "big"], in: repo)
        try expectNothingChanged(h, v1: v1, try h.push(repo), mentions: "No space left on device")
    }

    @Test func whileABuildpackCompiles() throws {
        let (h, repo, v1) = try serverWithARelease()
        try h.commit(repo, "bulk.sh", #"head -c 40000000 /dev/zero > "$1/bulk.bin""# + "\n")
        let result = try h.push(repo)
        try expectNothingChanged(h, v1: v1, result, mentions: "Push rejected, failed to compile")
        #expect(result.output.contains("No space left on device"))
    }

    @Test func whileTheSlugIsPacked() throws {
        let (h, repo, v1) = try serverWithARelease()
        // 13 MB that does not compress: it fits in the build folder, but not twice (the slug beside it).
        try h.commit(repo, "bulk.sh", #"head -c 13000000 /dev/urandom > "$1/random.bin""# + "\n")
        let result = try h.push(repo)
        try expectNothingChanged(h, v1: v1, result, mentions: "No space left on device")
        #expect(
            result.output.contains("Could not write the slug") || result.output.contains("Cannot store the slug"),
            "\(result.output)")
    }

    /// Publishing into a full disk (the spool and ledger are on it): nothing is recorded, nothing is handed over.
    @Test func whileTheReleaseIsPublished() throws {
        let scratch = try ScratchDirectory("diskfull-publish")
        let rootPath = try scratch.makeDirectory("root")
        #expect(try runTool(["/usr/bin/mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", rootPath]).status == 0)
        defer { _ = try? runTool(["/usr/bin/umount", "-l", rootPath]) }
        let root = SlipwayRoot(rootPath)
        try ServerSetup.initialize(root)
        _ = try AppRegistry(root: root).create("myapp", owner: "alice")
        let app = root.app("myapp")
        let slugSHA = String(repeating: "b", count: 64)
        try scratch.write("root/apps/myapp/slugs/\(slugSHA).tgz", "slug")
        // Fill the disk to the last page.
        _ = try runTool(["/bin/dd", "if=/dev/zero", "of=\(rootPath)/filler", "bs=64k"])
        var manifest = ReleaseManifest(
            app: "myapp", stack: "slipway-1", sourceVersion: "1a2b3c4", buildpacks: [], processTypes: ["web": "x"],
            configVars: [:], addons: [], slug: .init(path: "slug.tgz", size: 4, sha256: slugSHA),
            createdAt: "2026-01-01T00:00:00Z", timings: [:])
        manifest.user = "alice"
        #expect(throws: (any Error).self) {
            _ = try Publisher(root: root).publish(
                app: app, manifest: manifest, description: "Deploy 1a2b3c4", user: "alice", buildpackConfigVars: nil,
                buildID: "b1")
        }
        let spool = Spool(directory: root.spoolDirectory)
        #expect(try spool.pending().isEmpty, "nothing handed over")
        #expect(try spool.temporaryEntries().isEmpty, "nothing half-written")
        #expect(try ReleaseLedger(path: app.ledger).entries().isEmpty, "nothing recorded")
        // With space again, the same release goes through.
        unlink("\(rootPath)/filler")
        let entry = try Publisher(root: root).publish(
            app: app, manifest: manifest, description: "Deploy 1a2b3c4", user: "alice", buildpackConfigVars: nil,
            buildID: "b1")
        #expect(entry.version == 1)
        #expect(try spool.pending().count == 1)
    }
}
