import Foundation
import SlipwayArchive
import SlipwayTestSupport
import Testing

/// Unpacking slugs: what a good slug gives, and every way a crafted archive could reach outside its folder.
@Suite struct TarExtractorTests {
    /// One archive entry to write.
    enum Entry {
        case directory(String, mode: UInt32 = 0o755)
        case file(String, String, mode: UInt32 = 0o644)
        case symlink(String, target: String)
    }

    /// Writes `entries` as a gzip-compressed tar and returns its path.
    func archive(_ entries: [Entry], in scratch: ScratchDirectory, name: String = "slug.tgz") throws -> String {
        let path = scratch.url(name)
        let file = try HashingFileOutput(path: path)
        let gzip = try GzipWriter(to: file)
        let tar = try TarWriter(to: gzip)
        for entry in entries {
            switch entry {
            case .directory(let name, let mode):
                try tar.addDirectory(name, mode: mode, mtime: 1_700_000_000)
            case .file(let name, let contents, let mode):
                let source = try scratch.write("sources/\(UUID().uuidString)", contents)
                let fd = open(source, O_RDONLY)
                defer { close(fd) }
                try tar.addFile(
                    name, mode: mode, mtime: 1_700_000_000, size: Int64(contents.utf8.count), contentsOf: fd)
            case .symlink(let name, let target):
                try tar.addSymlink(name, target: target, mtime: 1_700_000_000)
            }
        }
        try tar.finish()
        try gzip.finish()
        _ = try file.finish()
        return path
    }

    @Test func aSlugUnpacksWithModesSymlinksAndWithoutSetuid() throws {
        let scratch = try ScratchDirectory("extract")
        let slug = try archive(
            [
                .directory("./app/"), .directory("./app/bin/", mode: 0o555),
                .file("./app/bin/web", "#!/bin/sh\n", mode: 0o4755),
                .file("./app/README", "hello\n"), .symlink("./app/python", target: "/usr/bin/python3"),
            ], in: scratch)
        let target = try scratch.makeDirectory("out")
        let summary = try TarExtractor().extract(slug, into: target)
        #expect(summary == TarExtractor.Summary(files: 2, directories: 2, symlinks: 1, bytes: 16))
        #expect(try scratch.read("out/app/README") == "hello\n")
        let web = try FileManager.default.attributesOfItem(atPath: scratch.url("out/app/bin/web"))
        #expect((web[.posixPermissions] as? Int) == 0o755, "setuid is dropped")
        let bin = try FileManager.default.attributesOfItem(atPath: scratch.url("out/app/bin"))
        #expect((bin[.posixPermissions] as? Int) == 0o555, "a read-only folder is filled first, then made read-only")
        #expect(
            try FileManager.default.destinationOfSymbolicLink(atPath: scratch.url("out/app/python"))
                == "/usr/bin/python3")
        _ = try runTool(["/bin/chmod", "-R", "u+w", target])
    }

    @Test(arguments: [
        ("./app/../escaped", "'..'"), ("/tmp/absolute", "absolute"), ("./other/file", "under ./app/"),
        ("app/./x", "'..' and '.'"),
    ])
    func namesThatCouldLeaveTheFolderAreRefused(name: String, reason: String) throws {
        let scratch = try ScratchDirectory("extract-names")
        let slug = try archive([.directory("./app/"), .file(name, "evil\n")], in: scratch)
        let target = try scratch.makeDirectory("out")
        let error = #expect(throws: ArchiveError.self) { try TarExtractor().extract(slug, into: target) }
        #expect(error?.description.contains(reason) == true, "\(String(describing: error))")
        #expect(!scratch.exists("escaped") && !FileManager.default.fileExists(atPath: "/tmp/absolute"))
    }

    @Test func nothingIsWrittenThroughASymlink() throws {
        let scratch = try ScratchDirectory("extract-symlink")
        let outside = try scratch.makeDirectory("outside")
        let slug = try archive(
            [.directory("./app/"), .symlink("./app/link", target: outside), .file("./app/link/planted", "evil\n")],
            in: scratch)
        let target = try scratch.makeDirectory("out")
        #expect(throws: ArchiveError.self) { try TarExtractor().extract(slug, into: target) }
        #expect(!scratch.exists("outside/planted"))
    }

    @Test func aSymlinkCannotReplaceAFileAlreadyUnpacked() throws {
        let scratch = try ScratchDirectory("extract-overwrite")
        let slug = try archive(
            [.directory("./app/"), .file("./app/x", "first\n"), .symlink("./app/x", target: "/etc/passwd")], in: scratch
        )
        let target = try scratch.makeDirectory("out")
        #expect(throws: ArchiveError.self) { try TarExtractor().extract(slug, into: target) }
        #expect(try scratch.read("out/app/x") == "first\n")
    }

    @Test func aDestinationBehindASymlinkStillWorks() throws {
        let scratch = try ScratchDirectory("extract-linked-destination")
        let real = try scratch.makeDirectory("real")
        try FileManager.default.createSymbolicLink(atPath: scratch.url("linked"), withDestinationPath: real)
        let slug = try archive([.directory("./app/"), .file("./app/a", "a\n")], in: scratch)
        try TarExtractor().extract(slug, into: scratch.url("linked"))
        #expect(try scratch.read("real/app/a") == "a\n")
    }

    /// A slug that unpacks to far more than it weighs (issue 31): refused at the entry past the limit, by the sizes
    /// its headers declare (a sparse file counts at its full size).
    @Test func aSlugPastTheUnpackedLimitIsRefused() throws {
        let scratch = try ScratchDirectory("extract-limit")
        let sparse = try scratch.makeDirectory("tree/app")
        #expect(try runTool(["/usr/bin/truncate", "-s", "3M", "\(sparse)/big"]).status == 0)
        let slug = scratch.url("sparse.tgz")
        #expect(try runTool(["/bin/tar", "-czf", slug, "-C", scratch.url("tree"), "./app"]).status == 0)
        #expect(throws: ArchiveError.self) {
            try TarExtractor(maximumBytes: 2 << 20).extract(slug, into: try scratch.makeDirectory("small"))
        }
        #expect(!FileManager.default.fileExists(atPath: scratch.url("small/app/big")))
        let summary = try TarExtractor(maximumBytes: 4 << 20).extract(slug, into: try scratch.makeDirectory("big"))
        #expect(summary.bytes == 3 << 20)
    }

    @Test func somethingThatIsNotAGzippedTarIsAnError() throws {
        let scratch = try ScratchDirectory("extract-garbage")
        let garbage = try scratch.write("garbage.tgz", "not a tarball at all\n")
        let target = try scratch.makeDirectory("out")
        #expect(throws: ArchiveError.self) { try TarExtractor().extract(garbage, into: target) }
    }
}
