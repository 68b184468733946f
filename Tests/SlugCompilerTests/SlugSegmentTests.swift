import Foundation
import SlipwayTestSupport
import Testing

@testable import SlugCompiler

/// Packing a slug that reuses the compressed bytes of an unchanged folder from the last build: the slug must unpack
/// to exactly the tree packed from scratch (gzip, tar and Python's tarfile all read it), the same inputs and cache
/// must give the same bytes, and a cache entry that does not verify or no longer matches must never be spliced.
@Suite struct SlugSegmentTests {
    /// An app tree: a 3 MiB "runtime" two levels down (a segment), a small folder there (not one), app files.
    func makeApp(_ scratch: ScratchDirectory) throws -> String {
        var runtime = ""
        for line in 0..<60_000 { runtime += "runtime line \(line) \(line * 7919 % 10007)\n" }
        try scratch.write("app/.heroku/rt/lib/big.txt", runtime)
        try scratch.write("app/.heroku/rt/bin/tool", "#!/bin/sh\necho tool\n", mode: 0o755)
        try FileManager.default.createSymbolicLink(
            atPath: scratch.url("app/.heroku/rt/bin/alias"), withDestinationPath: "tool")
        try scratch.write("app/.heroku/small/x.txt", "small\n")
        try scratch.write("app/main.rb", "puts 1\n")
        return scratch.url("app")
    }

    func pack(_ app: String, _ out: String, cache: String?) throws -> SlugPacker.Output {
        var packer = SlugPacker(mtime: 1_700_000_000, threads: 2)
        packer.segmentCacheDirectory = cache
        return try packer.pack(app, into: out)
    }

    func segmentFiles(_ cache: String) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: "\(cache)/slug-segments").sorted()
    }

    @Test func anUnchangedFolderIsReusedAndTheSlugUnpacksTheSame() throws {
        let scratch = try ScratchDirectory("slug-segments")
        let app = try makeApp(scratch)
        let cache = scratch.url("cache")
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)

        let first = try pack(app, scratch.url("1.tgz"), cache: cache)
        #expect(first.reusedFolders.isEmpty)
        #expect(try segmentFiles(cache).count == 1)

        try scratch.write("app/main.rb", "puts 2\n")
        let second = try pack(app, scratch.url("2.tgz"), cache: cache)
        #expect(second.reusedFolders == ["app/.heroku/rt"])
        // The same inputs and cache state give the same bytes; a fresh cache gives them too (the same cuts).
        let again = try pack(app, scratch.url("2b.tgz"), cache: cache)
        #expect(again.sha256 == second.sha256)
        let freshCache = scratch.url("cache2")
        try FileManager.default.createDirectory(atPath: freshCache, withIntermediateDirectories: true)
        let fresh = try pack(app, scratch.url("fresh.tgz"), cache: freshCache)
        #expect(fresh.reusedFolders.isEmpty)
        #expect(fresh.sha256 == second.sha256)
        // Without a cache (no cuts): other bytes, the same tree.
        _ = try pack(app, scratch.url("plain.tgz"), cache: nil)
        #expect(try runTool(["/bin/gzip", "-t", scratch.url("2.tgz")]).status == 0)
        #expect(try slugListing(scratch.url("2.tgz")) == slugListing(scratch.url("plain.tgz")))
        #expect(try slugListing(scratch.url("2.tgz")).contains("./app/main.rb"))
        for (name, slug) in [("reused", "2.tgz"), ("plain", "plain.tgz")] {
            try scratch.makeDirectory(name)
            #expect(try runTool(["/bin/tar", "-xzf", scratch.url(slug), "-C", scratch.url(name)]).status == 0)
        }
        #expect(
            try runTool(["/usr/bin/diff", "-r", "--no-dereference", scratch.url("reused"), scratch.url("plain")]).status
                == 0)
    }

    @Test func aCorruptCacheEntryIsIgnoredAndRecordedAgain() throws {
        let scratch = try ScratchDirectory("slug-segments-corrupt")
        let app = try makeApp(scratch)
        let cache = scratch.url("cache")
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        let first = try pack(app, scratch.url("1.tgz"), cache: cache)
        let entry = "\(cache)/slug-segments/\(try #require(try segmentFiles(cache).first))"
        var bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: entry)))
        bytes[bytes.count / 2] ^= 0x01
        try Data(bytes).write(to: URL(fileURLWithPath: entry))

        let second = try pack(app, scratch.url("2.tgz"), cache: cache)
        #expect(second.reusedFolders.isEmpty)
        #expect(second.sha256 == first.sha256)
        #expect(try runTool(["/bin/gzip", "-t", scratch.url("2.tgz")]).status == 0)
        // Recorded again, whole: the next pack reuses it.
        let third = try pack(app, scratch.url("3.tgz"), cache: cache)
        #expect(third.reusedFolders == ["app/.heroku/rt"])
        #expect(third.sha256 == first.sha256)
    }

    @Test func aChangedFolderIsCompressedAgainAndTheOldEntryRemoved() throws {
        let scratch = try ScratchDirectory("slug-segments-changed")
        let app = try makeApp(scratch)
        let cache = scratch.url("cache")
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        _ = try pack(app, scratch.url("1.tgz"), cache: cache)
        let before = try segmentFiles(cache)
        // Same size, same mtime on disk, one byte different: the key is the content, never the mtime.
        let path = scratch.url("app/.heroku/rt/bin/tool")
        let attributes = try FileManager.default.attributesOfItem(atPath: path)
        try scratch.write("app/.heroku/rt/bin/tool", "#!/bin/sh\necho toal\n", mode: 0o755)
        try FileManager.default.setAttributes(
            [.modificationDate: attributes[.modificationDate] as Any], ofItemAtPath: path)
        let second = try pack(app, scratch.url("2.tgz"), cache: cache)
        #expect(second.reusedFolders.isEmpty)
        let after = try segmentFiles(cache)
        #expect(after.count == 1, "\(after)")
        #expect(after != before)
        #expect(
            try runTool(["/bin/tar", "-xzOf", scratch.url("2.tgz"), "./app/.heroku/rt/bin/tool"]).stdout.contains(
                "toal"))
        // Another mtime for the slug's entries: other tar bytes, so not reused either.
        var packer = SlugPacker(mtime: 42, threads: 2)
        packer.segmentCacheDirectory = cache
        #expect(try packer.pack(app, into: scratch.url("3.tgz")).reusedFolders.isEmpty)
    }

    @Test func aReusedFolderKeepsTheTimeOfTheBuildThatRecordedIt() throws {
        let scratch = try ScratchDirectory("slug-segments-time")
        let app = try makeApp(scratch)
        let cache = scratch.url("cache")
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        func pack(mtime: Int64, _ out: String) throws -> SlugPacker.Output {
            var packer = SlugPacker(mtime: mtime, threads: 2)
            packer.segmentCacheDirectory = cache
            packer.reusedFoldersKeepTheirTime = true
            return try packer.pack(app, into: scratch.url(out))
        }
        #expect(try pack(mtime: 100, "1.tgz").reusedFolders.isEmpty)
        try scratch.write("app/main.rb", "puts 2\n")
        #expect(try pack(mtime: 200, "2.tgz").reusedFolders == ["app/.heroku/rt"])
        let listing = try slugListing(scratch.url("2.tgz"))
        #expect(listing.contains("./app/.heroku/rt/lib/big.txt 0o644 b'0' 100 "), "\(listing)")
        #expect(listing.contains("./app/main.rb 0o644 b'0' 200 "), "\(listing)")
        // The small folder is no segment: the new time.
        #expect(listing.contains("./app/.heroku/small/x.txt 0o644 b'0' 200 "), "\(listing)")
        #expect(try pack(mtime: 300, "3.tgz").reusedFolders == ["app/.heroku/rt"])
        // Once the folder changes, it is packed with the build's own time.
        try scratch.write("app/.heroku/rt/bin/tool", "#!/bin/sh\necho other\n", mode: 0o755)
        #expect(try pack(mtime: 400, "4.tgz").reusedFolders.isEmpty)
        #expect(try slugListing(scratch.url("4.tgz")).contains("./app/.heroku/rt/lib/big.txt 0o644 b'0' 400 "))
    }

    @Test func aSymlinkInPlaceOfTheCacheFolderIsNotFollowed() throws {
        let scratch = try ScratchDirectory("slug-segments-symlink")
        let app = try makeApp(scratch)
        let cache = scratch.url("cache")
        let elsewhere = try scratch.makeDirectory("elsewhere")
        try scratch.write("elsewhere/keep", "keep\n")
        try FileManager.default.createDirectory(atPath: cache, withIntermediateDirectories: true)
        try FileManager.default.createSymbolicLink(atPath: "\(cache)/slug-segments", withDestinationPath: elsewhere)
        _ = try pack(app, scratch.url("1.tgz"), cache: cache)
        #expect(try FileManager.default.contentsOfDirectory(atPath: elsewhere) == ["keep"])
        // Replaced by a folder of its own (attributesOfItem does not follow a symlink).
        let type =
            try FileManager.default.attributesOfItem(atPath: "\(cache)/slug-segments")[.type] as? FileAttributeType
        #expect(type == .typeDirectory)
        #expect(try segmentFiles(cache).count == 1)
    }
}
