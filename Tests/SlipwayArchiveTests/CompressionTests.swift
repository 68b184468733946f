import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwayArchive

/// The parallel gzip and zstd writers: what they write must decompress with the standard tools to exactly the input,
/// and be the same bytes whatever the number of threads and however the input arrives.
@Suite struct CompressionTests {
    /// Bytes that give every kind of deflate block: text (Huffman codes with matches), a run of zeros (long
    /// matches), random bytes (stored blocks), in pieces of uneven sizes.
    static func sample(size: Int, seed: UInt64 = 7) -> [UInt8] {
        var state = seed
        func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        let words = ["slug", "deploy", "push", "buildpack", "runner", "release", "tar", "gzip", "\n", "    "]
        var out: [UInt8] = []
        out.reserveCapacity(size)
        while out.count < size {
            let piece = 1 + Int(next() % 70_000)
            switch next() % 3 {
            case 0:
                let target = out.count + piece
                while out.count < target { out += Array(words[Int(next() % 10)].utf8) }
            case 1: out += [UInt8](repeating: 0, count: piece)
            default: for _ in 0..<piece { out.append(UInt8(truncatingIfNeeded: next())) }
            }
        }
        return Array(out.prefix(size))
    }

    /// Compresses `data` into a new file with `make`, writing it in pieces of `pieceSize`; returns the file's sha256.
    func compress(
        _ data: [UInt8], to path: String, pieceSize: Int = 10_000,
        _ make: (ByteSink) throws -> CompressingSink
    ) throws -> String {
        let file = try HashingFileOutput(path: path)
        let writer = try make(file)
        try data.withUnsafeBytes { raw in
            var offset = 0
            while offset < raw.count {
                let count = min(pieceSize, raw.count - offset)
                try writer.write(UnsafeRawBufferPointer(rebasing: raw[offset..<offset + count]))
                offset += count
            }
        }
        try writer.finish()
        return try file.finish()
    }

    @Test(arguments: [0, 1, 100, GzipWriter.blockSize, GzipWriter.blockSize + 1, 5 * GzipWriter.blockSize + 12_345])
    func gzipDecompressesWithTheGzipCommandToTheInput(size: Int) throws {
        let scratch = try ScratchDirectory("gzip")
        let data = Self.sample(size: size)
        let path = scratch.url("data.gz")
        _ = try compress(data, to: path) { try GzipWriter(threads: 2, to: $0) }
        #expect(try runTool(["/bin/gzip", "-t", path]).status == 0)
        #expect(try runTool(["/bin/gzip", "-d", path]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.url("data"))) == Data(data))
    }

    @Test func gzipIsOneMemberHoldingOneDeflateStream() throws {
        let scratch = try ScratchDirectory("gzip-member")
        let path = scratch.url("data.gz")
        _ = try compress(Self.sample(size: 4 * GzipWriter.blockSize + 99), to: path) {
            try GzipWriter(threads: 2, to: $0)
        }
        let bytes = [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
        #expect(Array(bytes.prefix(10)) == [0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3])
        // The deflate stream after the header ends exactly where the 8-byte trailer starts: no second member.
        let body = Array(bytes[10..<(bytes.count - 8)])
        let end = try body.withUnsafeBufferPointer { try DeflateJoiner().walk($0.baseAddress!, count: $0.count).end }
        #expect((end + 7) / 8 == body.count)
    }

    @Test func gzipBytesDoNotDependOnThreadsOrOnHowTheInputArrives() throws {
        let scratch = try ScratchDirectory("gzip-threads")
        let data = Self.sample(size: 3_000_000)
        var digests: Set<String> = []
        for (threads, piece) in [(1, 10_000), (2, 10_000), (4, 10_000), (3, 1 << 20), (2, 777)] {
            digests.insert(
                try compress(data, to: scratch.url("t\(threads)-\(piece).gz"), pieceSize: piece) {
                    try GzipWriter(threads: threads, to: $0)
                })
        }
        #expect(digests.count == 1)
    }

    @Test func zstdDecompressesToTheInputAndDoesNotDependOnThreadsOrPieces() throws {
        let scratch = try ScratchDirectory("zstd")
        let data = Self.sample(size: 5_000_000)
        var digests: Set<String> = []
        for (threads, piece) in [(1, 10_000), (2, 10_000), (4, 10_000), (2, 1 << 20)] {
            digests.insert(
                try compress(data, to: scratch.url("t\(threads)-\(piece).zst"), pieceSize: piece) {
                    try ZstdWriter(threads: threads, to: $0)
                })
        }
        #expect(digests.count == 1)
        let zstd = try #require(which("zstd"), "zstd is installed by scripts/setup")
        #expect(try runTool([zstd, "-q", "-d", scratch.url("t2-10000.zst"), "-o", scratch.url("out")]).status == 0)
        #expect(try Data(contentsOf: URL(fileURLWithPath: scratch.url("out"))) == Data(data))
    }

    @Test func aThreadedSinkPassesTheSameBytesAndTheCompressorsFailure() throws {
        let scratch = try ScratchDirectory("threaded")
        let data = Self.sample(size: 3_000_000)
        let direct = try compress(data, to: scratch.url("direct.zst")) { try ZstdWriter(threads: 2, to: $0) }
        let threaded = try compress(data, to: scratch.url("threaded.zst")) {
            ThreadedSink(try ZstdWriter(threads: 2, to: $0))
        }
        #expect(threaded == direct)

        // The file takes 1000 bytes only: the compressing thread fails, and the writer hears of it.
        let limited = try HashingFileOutput(path: scratch.url("limited.gz"), limit: 1000)
        let sink = ThreadedSink(try GzipWriter(threads: 2, to: limited))
        #expect(throws: OutputLimitExceeded.self) {
            try data.withUnsafeBytes { try sink.write($0) }
            try sink.finish()
        }
    }

    @Test func aBadLevelIsRefused() {
        let sink = DiscardingSink()
        #expect(throws: ArchiveError.self) { try GzipWriter(level: 0, to: sink) }
        #expect(throws: ArchiveError.self) { try ZstdWriter(level: 99, to: sink) }
    }
}

/// A sink that drops what it is given.
final class DiscardingSink: ByteSink {
    func write(_ bytes: UnsafeRawBufferPointer) throws {}
}
