import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

@Suite struct SHA256Tests {
    /// `sha256sum`'s digest of `path`.
    func reference(_ path: String) throws -> String {
        let tool = try #require(which("sha256sum"), "sha256sum (coreutils) is needed")
        let result = try runTool([tool, path])
        try #require(result.status == 0, "\(result.stderr)")
        return String(result.stdout.prefix(64))
    }

    @Test func matchesKnownVectors() throws {
        let scratch = try ScratchDirectory("sha256")
        let vectors = [
            ("", "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"),
            ("abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"),
            (
                "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
                "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"
            ),
        ]
        for (index, (text, digest)) in vectors.enumerated() {
            let path = try scratch.write("vector-\(index)", text)
            #expect(try Spool.sha256(ofFile: path) == digest, "\(text)")
        }
    }

    @Test func equalsSha256sumOnAnEmptyFile() throws {
        let scratch = try ScratchDirectory("sha256")
        let path = try scratch.write("empty", "")
        #expect(try Spool.sha256(ofFile: path) == (try reference(path)))
    }

    @Test func equalsSha256sumOnSmallFilesOfEveryLengthAroundABlock() throws {
        // Lengths around 55/56/64 bytes exercise every padding case.
        let scratch = try ScratchDirectory("sha256")
        for length in [1, 55, 56, 57, 63, 64, 65, 119, 120, 128, 1000] {
            let text = String((0..<length).map { Character(UnicodeScalar(UInt8(97 + $0 % 26))) })
            let path = try scratch.write("small-\(length)", text)
            #expect(try Spool.sha256(ofFile: path) == (try reference(path)), "length \(length)")
        }
    }

    @Test func equalsSha256sumOnA3MBFile() throws {
        let scratch = try ScratchDirectory("sha256")
        // 3 MB plus a few bytes, not a multiple of the 64 KiB read size nor of the 64-byte block.
        var generator = SplitMix64(seed: 42)
        var bytes = [UInt8](repeating: 0, count: 3 * 1024 * 1024 + 13)
        for index in bytes.indices { bytes[index] = UInt8(truncatingIfNeeded: generator.next()) }
        let path = scratch.url("large.bin")
        try Data(bytes).write(to: URL(fileURLWithPath: path))
        #expect(try Spool.sha256(ofFile: path) == (try reference(path)))
    }

    @Test func aMissingFileThrowsWithItsPath() throws {
        let scratch = try ScratchDirectory("sha256")
        let error = #expect(throws: SpoolError.self) { try Spool.sha256(ofFile: scratch.url("absent")) }
        #expect(error?.description.contains("\(scratch.url("absent")) failed: No such file or directory") == true)
    }
}

/// A small seeded generator, so the large test file is the same on every run.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}
