import Foundation
import SlipwayArchive
import SlipwayTestSupport
import Testing

@Suite struct SlugStreamTests {
    /// Writes a small tar.gz with every entry type and returns its path.
    func writeSample(in scratch: ScratchDirectory, name: String, payload: String) throws -> (String, String) {
        let source = try scratch.write("payload-\(name).txt", payload)
        let path = scratch.url(name)
        let file = try HashingFileOutput(path: path)
        let gzip = try GzipWriter(to: file)
        let tar = try TarWriter(to: gzip)
        try tar.addDirectory("./app/", mode: 0o755, mtime: 1_700_000_000)
        let fd = open(source, O_RDONLY)
        defer { close(fd) }
        try tar.addFile(
            "./app/hello.txt", mode: 0o755, mtime: 1_700_000_000, size: Int64(payload.utf8.count), contentsOf: fd)
        try tar.addSymlink("./app/link", target: "/etc/passwd", mtime: 1_700_000_000)
        try tar.finish()
        try gzip.finish()
        return (path, try file.finish())
    }

    @Test func realTarAndGzipReadWhatWeWrite() throws {
        let scratch = try ScratchDirectory("archive")
        let (path, digest) = try writeSample(in: scratch, name: "a.tgz", payload: "hello slug\n")
        #expect(try runTool(["/bin/gzip", "-t", path]).status == 0)
        let listing = try runTool(["/bin/tar", "tvzf", path, "--numeric-owner"])
        #expect(listing.status == 0)
        #expect(listing.stdout.contains("./app/hello.txt"))
        #expect(listing.stdout.contains("-rwxr-xr-x 0/0"))
        #expect(listing.stdout.contains("./app/link -> /etc/passwd"))
        let sha = try runTool(["/usr/bin/sha256sum", path]).stdout.prefix(64)
        #expect(String(sha) == digest)
        try scratch.makeDirectory("out")
        #expect(try runTool(["/bin/tar", "xzf", path, "-C", scratch.url("out")]).status == 0)
        #expect(try scratch.read("out/app/hello.txt") == "hello slug\n")
    }

    @Test func sameInputGivesTheSameBytes() throws {
        let scratch = try ScratchDirectory("archive")
        let (_, first) = try writeSample(in: scratch, name: "1.tgz", payload: "same")
        let (_, second) = try writeSample(in: scratch, name: "2.tgz", payload: "same")
        let (_, other) = try writeSample(in: scratch, name: "3.tgz", payload: "different")
        #expect(first == second)
        #expect(first != other)
    }

    @Test func outputLimitStopsTheStream() throws {
        let scratch = try ScratchDirectory("archive")
        let file = try HashingFileOutput(path: scratch.url("limited"), limit: 10)
        let bytes = [UInt8](repeating: 7, count: 11)
        #expect(throws: OutputLimitExceeded.self) { try bytes.withUnsafeBytes { try file.write($0) } }
    }

    @Test func refusesToOverwriteAnExistingFile() throws {
        let scratch = try ScratchDirectory("archive")
        let existing = try scratch.write("exists", "x")
        #expect(throws: ArchiveError.self) { try HashingFileOutput(path: existing) }
    }
}
