import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwayArchive

/// Segments of a gzip member: recorded between two cuts, kept in a verified file, spliced into another member, which
/// must be one valid member decompressing to the same bytes; a cache file that does not verify is never read.
@Suite struct GzipSegmentTests {
    let head = CompressionTests.sample(size: 3 * GzipWriter.blockSize + 1234, seed: 1)
    let middle = CompressionTests.sample(size: 2 * GzipWriter.blockSize + 777, seed: 2)
    let tail = CompressionTests.sample(size: 55_555, seed: 3)

    /// Compresses head, middle, tail into `path`: the middle recorded as a segment into `recorder`, or spliced from
    /// `spliced` (its recorded bytes and CRC/length).
    func member(
        _ path: String, threads: Int, recorder: ByteSink? = nil,
        spliced: (bytes: [UInt8], segment: GzipWriter.Segment)? = nil
    ) throws -> (sha256: String, segment: GzipWriter.Segment?) {
        let file = try HashingFileOutput(path: path)
        let gzip = try GzipWriter(threads: threads, to: file)
        try head.withUnsafeBytes { try gzip.write($0) }
        var segment: GzipWriter.Segment?
        if let spliced {
            try gzip.splice(spliced.segment) { sink in try spliced.bytes.withUnsafeBytes { try sink.write($0) } }
        } else {
            if let recorder { try gzip.beginSegment(recordingTo: recorder) } else { try gzip.cut() }
            try middle.withUnsafeBytes { try gzip.write($0) }
            segment = recorder == nil ? nil : try gzip.endSegment()
            if recorder == nil { try gzip.cut() }
        }
        try tail.withUnsafeBytes { try gzip.write($0) }
        try gzip.finish()
        return (try file.finish(), segment)
    }

    final class Collector: ByteSink {
        var bytes: [UInt8] = []
        func write(_ bytes: UnsafeRawBufferPointer) throws { self.bytes += bytes }
    }

    @Test(arguments: [1, 3])
    func aSplicedSegmentGivesTheSameValidMemberAsCompressingIt(threads: Int) throws {
        let scratch = try ScratchDirectory("gzip-segment")
        let recorder = Collector()
        let recorded = try member(scratch.url("recorded.gz"), threads: threads, recorder: recorder)
        let segment = try #require(recorded.segment)
        #expect(segment.length == UInt64(middle.count))
        #expect(!recorder.bytes.isEmpty)
        let plain = try member(scratch.url("plain.gz"), threads: threads)
        let spliced = try member(scratch.url("spliced.gz"), threads: threads, spliced: (recorder.bytes, segment))
        // The same cuts give the same bytes, recorded, compressed between cuts, or spliced.
        #expect(spliced.sha256 == recorded.sha256)
        #expect(plain.sha256 == recorded.sha256)
        #expect(try runTool(["/bin/gzip", "-t", scratch.url("spliced.gz")]).status == 0)
        #expect(try runTool(["/bin/gzip", "-d", scratch.url("spliced.gz")]).status == 0)
        let data = try Data(contentsOf: URL(fileURLWithPath: scratch.url("spliced")))
        #expect(data == Data(head + middle + tail))
        // One member holding one deflate stream.
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.url("recorded.gz"))))
        let body = Array(bytes[10..<(bytes.count - 8)])
        let end = try body.withUnsafeBufferPointer { try DeflateJoiner().walk($0.baseAddress!, count: $0.count).end }
        #expect((end + 7) / 8 == body.count)
    }

    @Test func aSegmentWithTheWrongCRCOrLengthFailsGzipsCheck() throws {
        let scratch = try ScratchDirectory("gzip-segment-crc")
        let recorder = Collector()
        let segment = try #require(try member(scratch.url("a.gz"), threads: 2, recorder: recorder).segment)
        var wrong = segment
        wrong.crc ^= 1
        _ = try member(scratch.url("bad.gz"), threads: 2, spliced: (recorder.bytes, wrong))
        #expect(try runTool(["/bin/gzip", "-t", scratch.url("bad.gz")]).status != 0)
    }

    /// Writes a segment file `name` under `key` in `folder` holding `bytes`.
    func writeFile(_ folder: Int32, _ name: String, key: [UInt8], _ bytes: [UInt8], _ segment: GzipWriter.Segment)
        throws
    {
        let writer = try GzipSegmentFile.Writer(folder: folder)
        try bytes.withUnsafeBytes { try writer.write($0) }
        try writer.commit(segment, name: name, key: key)
    }

    @Test func aSegmentFileIsReadBackOnlyWhenItVerifies() throws {
        let scratch = try ScratchDirectory("gzip-segment-file")
        let folder = open(scratch.path, O_RDONLY | O_DIRECTORY)
        defer { close(folder) }
        let key = [UInt8](repeating: 7, count: 32)
        let bytes = CompressionTests.sample(size: 3 * 1_048_576 + 5)
        let segment = GzipWriter.Segment(crc: 0xdead_beef, length: 123_456_789)
        try writeFile(folder, "a", key: key, bytes, segment)
        // No temporary file is left beside it.
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path) == ["a"])

        let reader = try #require(GzipSegmentFile.Reader(folder: folder, name: "a", key: key))
        #expect(reader.segment == segment)
        let collector = Collector()
        try reader.write(to: collector)
        #expect(collector.bytes == bytes)

        // Stored under another key (a file renamed or copied): refused.
        #expect(GzipSegmentFile.Reader(folder: folder, name: "a", key: [UInt8](repeating: 8, count: 32)) == nil)
        // One byte changed in the compressed bytes, in the trailer's CRC, or the file cut short: refused.
        for offset in [1000, bytes.count + 8] {
            let path = scratch.url("b")
            try? FileManager.default.removeItem(atPath: path)
            try writeFile(folder, "b", key: key, bytes, segment)
            var data = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
            data[offset] ^= 0x40
            try Data(data).write(to: URL(fileURLWithPath: path))
            #expect(GzipSegmentFile.Reader(folder: folder, name: "b", key: key) == nil)
        }
        let full = [UInt8](try Data(contentsOf: URL(fileURLWithPath: scratch.url("a"))))
        try Data(full.prefix(full.count - 10)).write(to: URL(fileURLWithPath: scratch.url("c")))
        #expect(GzipSegmentFile.Reader(folder: folder, name: "c", key: key) == nil)
        // A symlink to a good file, or a folder: not opened.
        try FileManager.default.createSymbolicLink(atPath: scratch.url("d"), withDestinationPath: scratch.url("a"))
        #expect(GzipSegmentFile.Reader(folder: folder, name: "d", key: key) == nil)
        try FileManager.default.createDirectory(atPath: scratch.url("e"), withIntermediateDirectories: false)
        #expect(GzipSegmentFile.Reader(folder: folder, name: "e", key: key) == nil)
        #expect(GzipSegmentFile.Reader(folder: folder, name: "missing", key: key) == nil)
    }

    @Test func aDiscardedSegmentFileLeavesNothing() throws {
        let scratch = try ScratchDirectory("gzip-segment-discard")
        let folder = open(scratch.path, O_RDONLY | O_DIRECTORY)
        defer { close(folder) }
        let writer = try GzipSegmentFile.Writer(folder: folder)
        try [UInt8](repeating: 1, count: 100).withUnsafeBytes { try writer.write($0) }
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).count == 1)
        writer.discard()
        #expect(try FileManager.default.contentsOfDirectory(atPath: scratch.path).isEmpty)
    }
}
