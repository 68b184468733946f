import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

@Suite struct SpoolTests {
    @Test func prepareCreatesTheLayoutAndIsIdempotent() throws {
        let scratch = try ScratchDirectory("spool-prepare")
        let spool = Spool(directory: scratch.url("a/b/spool"))
        try spool.prepare()
        try spool.prepare()
        for folder in ["tmp", "new", "cur"] {
            var isDirectory: ObjCBool = false
            #expect(FileManager.default.fileExists(atPath: "\(spool.directory)/\(folder)", isDirectory: &isDirectory))
            #expect(isDirectory.boolValue, "\(folder)/ is a folder")
        }
        #expect(try spool.pending().isEmpty)
    }

    @Test func prepareRefusesAFileInTheWay() throws {
        let scratch = try ScratchDirectory("spool-prepare")
        try scratch.write("spool/new", "not a folder")
        let error = #expect(throws: SpoolError.self) { try Spool(directory: scratch.url("spool")).prepare() }
        #expect(error?.description.contains("\(scratch.url("spool/new")) exists but is not a folder") == true)
    }

    @Test func anUnpreparedSpoolSaysSo() throws {
        let scratch = try ScratchDirectory("spool-unprepared")
        let error = #expect(throws: SpoolError.self) { try Spool(directory: scratch.url("nowhere")).pending() }
        #expect(error?.code == .notPrepared)
        #expect(error?.description.contains("receive-pack setup") == true)
    }

    @Test func entryNamesAreZeroPaddedMillisecondsAppAndVersion() {
        #expect(
            Spool.entryName(app: "myapp", version: 7, date: Date(timeIntervalSince1970: 0)) == "0000000000000.myapp.v7")
        #expect(
            Spool.entryName(app: "web", version: 12, date: Date(timeIntervalSince1970: 1_767_225_600.1234))
                == "1767225600123.web.v12")
        let earlier = Spool.entryName(app: "zzz", version: 9, date: Date(timeIntervalSince1970: 999_999_999))
        let later = Spool.entryName(app: "aaa", version: 1, date: Date(timeIntervalSince1970: 1_000_000_000))
        #expect(earlier < later, "names sort by time, whatever the app")
    }

    @Test func publishMakesACompleteEntryInNewAndLeavesNothingInTmp() throws {
        let fixture = try SpoolFixture()
        let slugPath = try fixture.slug()
        let manifest = try fixture.manifest(slugPath: slugPath)
        let name = Spool.entryName(app: "myapp", version: 1)
        let signed = try fixture.sign(manifest)
        let path = try fixture.spool.publish(name: name, manifest: signed, slugPath: slugPath)

        #expect(path == "\(fixture.spool.directory)/new/\(name)")
        #expect(try fixture.list("new") == [name])
        #expect(try fixture.list("tmp").isEmpty)
        #expect(try fixture.list("cur").isEmpty)
        #expect(try FileManager.default.contentsOfDirectory(atPath: path).sorted() == ["release.json", "slug.tgz"])
        let written = try Data(contentsOf: URL(fileURLWithPath: "\(path)/release.json"))
        #expect(written == signed, "release.json holds exactly the bytes given")
        let (read, readSlug) = try fixture.spool.read(entryAt: path, key: fixture.runnerKey)
        #expect(read == manifest)
        #expect(readSlug == "\(path)/slug.tgz")
        #expect(try String(contentsOfFile: readSlug, encoding: .utf8) == "not really a tarball\n")
    }

    @Test func theSlugIsHardLinkedOnTheSameFileSystem() throws {
        let fixture = try SpoolFixture()
        let slugPath = try fixture.slug()
        let name = Spool.entryName(app: "myapp", version: 1)
        let path = try fixture.spool.publish(
            name: name, manifest: try fixture.sign(fixture.manifest(slugPath: slugPath)), slugPath: slugPath)
        let source = try #require(fileStatus(slugPath))
        let linked = try #require(fileStatus("\(path)/slug.tgz"))
        #expect(source.st_dev == linked.st_dev)
        #expect(source.st_ino == linked.st_ino, "same inode: a hard link, not a copy")
        #expect(linked.st_nlink == 2)
    }

    /// Whether `/dev/shm` (a tmpfs on Linux) is another file system than the scratch folders'.
    static let sharedMemoryIsAnotherFileSystem: Bool = {
        guard let shm = fileStatus("/dev/shm"), let temp = fileStatus(NSTemporaryDirectory()) else { return false }
        return shm.st_dev != temp.st_dev
    }()

    @Test(
        .enabled(if: sharedMemoryIsAnotherFileSystem, "needs /dev/shm on another file system than the scratch folder"))
    func theSlugIsCopiedAcrossFileSystems() throws {
        let fixture = try SpoolFixture()
        let other = "/dev/shm/slipway-spool-test-\(getpid())-\(UInt32.random(in: 0...UInt32.max)).tgz"
        defer { unlink(other) }
        try Data("slug on another file system\n".utf8).write(to: URL(fileURLWithPath: other))
        let source = try #require(fileStatus(other))

        let name = Spool.entryName(app: "myapp", version: 1)
        let path = try fixture.spool.publish(
            name: name, manifest: try fixture.sign(fixture.manifest(slugPath: other)), slugPath: other)
        let copy = try #require(fileStatus("\(path)/slug.tgz"))
        #expect(copy.st_nlink == 1)
        #expect(try fixture.spool.read(entryAt: path, key: fixture.runnerKey).0.slug.size == Int64(source.st_size))
    }

    @Test func aNameCollisionThrows() throws {
        let fixture = try SpoolFixture()
        let name = try fixture.publish()
        let slugPath = try fixture.slug()
        let manifest = try fixture.sign(fixture.manifest(slugPath: slugPath))

        let inNew = #expect(throws: SpoolError.self) {
            try fixture.spool.publish(name: name, manifest: manifest, slugPath: slugPath)
        }
        #expect(inNew?.code == .entryExists)
        #expect(inNew?.description.contains("already exists") == true)

        _ = try fixture.spool.claim(name)
        let inCur = #expect(throws: SpoolError.self) {
            try fixture.spool.publish(name: name, manifest: manifest, slugPath: slugPath)
        }
        #expect(inCur?.code == .entryExists)
        #expect(try fixture.list("new").isEmpty, "the first entry stays claimed; nothing new appears")
        #expect(try fixture.list("tmp").isEmpty)
        let cur = try fixture.spool.read(entryAt: "\(fixture.spool.directory)/cur/\(name)", key: fixture.runnerKey)
        #expect(cur.0.slug.sha256 != (try Spool.sha256(ofFile: slugPath)), "the claimed entry was not replaced")
    }

    @Test func badNamesAreRefused() throws {
        let fixture = try SpoolFixture()
        let slugPath = try fixture.slug()
        let manifest = try fixture.sign(fixture.manifest(slugPath: slugPath))
        for name in ["", ".", "..", ".hidden", "a/b", "../escape"] {
            let error = #expect(throws: SpoolError.self, "\(name)") {
                try fixture.spool.publish(name: name, manifest: manifest, slugPath: slugPath)
            }
            #expect(error?.code == .invalidName)
            #expect(throws: SpoolError.self) { try fixture.spool.claim(name) }
        }
        #expect(try fixture.list("new").isEmpty)
    }

    @Test func publishRefusesAManifestRunnersCouldNotUse() throws {
        let fixture = try SpoolFixture()
        let slugPath = try fixture.slug()
        let good = try fixture.manifest(slugPath: slugPath)
        var noVersion = good
        noVersion.version = nil
        var otherSlugName = good
        otherSlugName.slug.path = "app.tgz"
        var wrongSize = good
        wrongSize.slug.size += 1
        let cases: [(Data, SpoolError.Code, String)] = [
            (Data("{not json".utf8), .invalidManifest, "is not a signed release"),
            (try good.encoded(), .invalidManifest, "is not a signed release (it is not signed by the door"),
            (try fixture.sign(noVersion), .invalidManifest, "lacks version"),
            (try fixture.sign(otherSlugName), .invalidManifest, "set slug.path to slug.tgz"),
            (try fixture.sign(wrongSize), .slugMismatch, "bytes but release.json"),
        ]
        for (index, (manifest, code, message)) in cases.enumerated() {
            let error = #expect(throws: SpoolError.self) {
                try fixture.spool.publish(
                    name: Spool.entryName(app: "myapp", version: index + 1), manifest: manifest, slugPath: slugPath)
            }
            #expect(error?.code == code)
            #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
        }
        #expect(try fixture.list("new").isEmpty)
        #expect(try fixture.list("tmp").isEmpty)
    }

    @Test func readDetectsATamperedSlug() throws {
        let fixture = try SpoolFixture()
        let name = try fixture.publish()
        let entry = try fixture.spool.claim(name)
        let slug = "\(entry)/slug.tgz"
        let original = try String(contentsOfFile: slug, encoding: .utf8)

        // Same size, different bytes: only the SHA-256 can tell. Replace the file rather than write through the
        // hard link, as a careless runner might; the check must hold either way.
        unlink(slug)
        try Data(original.uppercased().utf8).write(to: URL(fileURLWithPath: slug))
        let shaError = #expect(throws: SpoolError.self) {
            try fixture.spool.read(entryAt: entry, key: fixture.runnerKey)
        }
        #expect(shaError?.code == .slugMismatch)
        #expect(shaError?.description.contains("has SHA-256") == true)
        #expect(shaError?.description.contains(slug) == true)

        try Data((original + "x").utf8).write(to: URL(fileURLWithPath: slug))
        let sizeError = #expect(throws: SpoolError.self) {
            try fixture.spool.read(entryAt: entry, key: fixture.runnerKey)
        }
        #expect(sizeError?.code == .slugMismatch)
        #expect(sizeError?.description.contains("bytes but release.json says") == true)

        unlink(slug)
        let missing = #expect(throws: SpoolError.self) {
            try fixture.spool.read(entryAt: entry, key: fixture.runnerKey)
        }
        #expect(missing?.code == .slugMismatch)
    }

    @Test func readRefusesAnUnknownSchemaVersionOrMissingManifest() throws {
        let fixture = try SpoolFixture()
        let entry = try fixture.spool.claim(try fixture.publish())
        let manifestPath = "\(entry)/release.json"
        var object = try #require(
            try JSONSerialization.jsonObject(with: Data(contentsOf: URL(fileURLWithPath: manifestPath)))
                as? [String: Any])
        object["schema_version"] = 3
        try JSONSerialization.data(withJSONObject: object).write(to: URL(fileURLWithPath: manifestPath))
        let future = #expect(throws: SpoolError.self) { try fixture.spool.read(entryAt: entry, key: fixture.runnerKey) }
        #expect(future?.code == .invalidManifest)
        #expect(future?.description.contains("schema_version 3") == true)

        unlink(manifestPath)
        let missing = #expect(throws: SpoolError.self) {
            try fixture.spool.read(entryAt: entry, key: fixture.runnerKey)
        }
        #expect(missing?.code == .invalidManifest)
        #expect(missing?.description.contains("No such file or directory") == true)
    }

    @Test func sweepRemovesOldLeftoversAndKeepsFreshOnes() throws {
        let fixture = try SpoolFixture()
        let old = try fixture.scratch.write("root/spool/tmp/0000000000001.myapp.v1/release.json", "{\"app\":")
        let fresh = try fixture.scratch.write("root/spool/tmp/0000000000002.myapp.v2/release.json", "{")
        let twoHoursAgo = Date().addingTimeInterval(-7200)
        for path in [old, (old as NSString).deletingLastPathComponent] {
            try FileManager.default.setAttributes([.modificationDate: twoHoursAgo], ofItemAtPath: path)
        }
        #expect(try fixture.spool.pending().isEmpty, "runners never see tmp/")

        #expect(try fixture.spool.sweepTemporary(olderThan: 3600) == 1)
        #expect(try fixture.list("tmp") == ["0000000000002.myapp.v2"])
        #expect(FileManager.default.fileExists(atPath: fresh))
        #expect(try fixture.spool.sweepTemporary(olderThan: 3600) == 0)
    }

    @Test func aLeftoverWithARecentFileIsNotSwept() throws {
        // The folder's own mtime stops changing once its last file is created; a slow copy keeps the file fresh.
        let fixture = try SpoolFixture()
        let folder = try fixture.scratch.makeDirectory("root/spool/tmp/0000000000001.myapp.v1")
        try fixture.scratch.write("root/spool/tmp/0000000000001.myapp.v1/slug.tgz", "still copying")
        try FileManager.default.setAttributes(
            [.modificationDate: Date().addingTimeInterval(-7200)], ofItemAtPath: folder)
        #expect(try fixture.spool.sweepTemporary(olderThan: 3600) == 0)
    }

    /// The crash-safety property runners rely on: whatever goes wrong during a publish, `new/` never holds a partial
    /// entry, and `tmp/` holds at most a leftover that the sweep removes.
    @Test func aFailedPublishLeavesNothingInNew() throws {
        let fixture = try SpoolFixture()
        let slugPath = try fixture.slug()
        let manifest = try fixture.sign(fixture.manifest(slugPath: slugPath))

        let missing = #expect(throws: SpoolError.self) {
            try fixture.spool.publish(
                name: Spool.entryName(app: "myapp", version: 1), manifest: manifest,
                slugPath: fixture.scratch.url("gone.tgz"))
        }
        #expect(missing?.code == .slugMissing)
        #expect(missing?.description.contains("gone.tgz is missing") == true)
        #expect(try fixture.list("new").isEmpty)
        #expect(try fixture.list("tmp").isEmpty)

        // A publisher killed after building tmp/<name> but before the rename leaves exactly this behind.
        let name = Spool.entryName(app: "myapp", version: 2)
        try fixture.scratch.write("root/spool/tmp/\(name)/release.json", String(decoding: manifest, as: UTF8.self))
        #expect(try fixture.spool.pending().isEmpty)
        let blocked = #expect(throws: SpoolError.self) {
            try fixture.spool.publish(name: name, manifest: manifest, slugPath: slugPath)
        }
        #expect(blocked?.code == .entryExists)
        #expect(try fixture.list("tmp") == [name], "the publish did not remove what it did not create")
        #expect(try fixture.list("new").isEmpty)
        #expect(try fixture.spool.sweepTemporary(olderThan: -1) == 1)
        #expect(try fixture.list("tmp").isEmpty)
        _ = try fixture.spool.publish(name: name, manifest: manifest, slugPath: slugPath)
        #expect(try fixture.spool.pending() == [name])
    }

    @Test func systemErrorsNameThePathAndTheReason() throws {
        let fixture = try SpoolFixture()
        let slugPath = try fixture.slug()
        let name = String(repeating: "a", count: 300)
        let error = #expect(throws: SpoolError.self) {
            try fixture.spool.publish(
                name: name, manifest: try fixture.sign(fixture.manifest(slugPath: slugPath)), slugPath: slugPath)
        }
        #expect(error?.code == .system)
        #expect(error?.errorNumber == ENAMETOOLONG)
        #expect(
            error?.description == "spool: lstat \(fixture.spool.directory)/new/\(name) failed: File name too long; "
                + "use a shorter spool path or entry name")
    }
}
