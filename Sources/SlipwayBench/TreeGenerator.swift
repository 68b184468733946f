import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Writes a deterministic tree of files for benchmarks and large-tree tests: the same seed and size always give the
/// same names, modes and bytes.
///
/// The mix imitates an app with its dependencies: about 20,000 files for 200 MB, most of them small source-like text
/// (a vocabulary of made-up words in indented lines, which compresses about 3×), some structured binary (records
/// with counters and small fields, about 2×), some random bytes (compiled or already-compressed files, 1×), one large
/// file (1–3 MiB) per thousand, a few executables and relative symlinks, in folders up to four deep.
public struct TreeGenerator {
    /// The seed of the pseudo-random sequence.
    public var seed: UInt64
    /// Roughly how many bytes of file content to write (the last file may pass it).
    public var totalBytes: Int64

    /// What was written.
    public struct Summary: Sendable, Equatable {
        public var files = 0
        public var symlinks = 0
        public var directories = 0
        public var bytes: Int64 = 0
    }

    public init(seed: UInt64 = 1, totalBytes: Int64) {
        self.seed = seed
        self.totalBytes = totalBytes
    }

    /// Writes the tree into `directory` (created if missing; its parent must exist), which should be empty.
    public func generate(into directory: String) throws -> Summary {
        guard mkdir(directory, 0o755) == 0 || errno == EEXIST else { throw GeneratorError("mkdir \(directory)") }
        var random = SplitMix64(seed: seed)
        let words = (0..<2000).map { _ in Self.word(&random) }
        var summary = Summary()
        var madeDirectories: Set<String> = []
        var index = 0
        while summary.bytes < totalBytes {
            let folder = Self.folder(index)
            if !madeDirectories.contains(folder) {
                try Self.makeDirectories(folder, under: directory, made: &madeDirectories, summary: &summary)
            }
            let size =
                index % 1000 == 999
                ? Int(random.next(below: 2 << 20)) + (1 << 20)
                : Int(exp2(7 + random.nextUnit() * 8.6))  // log-uniform, 128 B to about 48 KiB
            let kind = random.next(below: 100)
            let (content, ext): ([UInt8], String) =
                if kind < 70 {
                    (Self.text(size, words: words, &random), ["py", "js", "txt", "json", "html"][index % 5])
                } else if kind < 88 {
                    (Self.records(size, &random), "dat")
                } else {
                    (Self.noise(size, &random), ["so", "png", "gz"][index % 3])
                }
            let name = "\(folder)/f\(index)-\(words[index % words.count]).\(ext)"
            let mode = random.next(below: 20) == 0 ? 0o755 : 0o644
            try Self.writeFile("\(directory)/\(name)", content, mode: mode)
            summary.files += 1
            summary.bytes += Int64(content.count)
            if index % 200 == 199 {
                guard
                    symlink("f\(index)-\(words[index % words.count]).\(ext)", "\(directory)/\(folder)/link\(index)")
                        == 0
                else { throw GeneratorError("symlink \(folder)/link\(index)") }
                summary.symlinks += 1
            }
            index += 1
        }
        return summary
    }

    /// The folder of file `index`: 40 files per folder, in a tree up to four levels deep.
    static func folder(_ index: Int) -> String {
        let group = index / 40
        switch group % 4 {
        case 0: return "app/m\(group % 7)"
        case 1: return "lib/p\(group % 13)/s\(group % 5)"
        case 2: return "vendor/v\(group % 17)/pkg\(group % 3)/src\(group)"
        default: return "static/a\(group % 11)"
        }
    }

    static func makeDirectories(
        _ folder: String, under root: String, made: inout Set<String>, summary: inout Summary
    ) throws {
        var path = ""
        for part in folder.split(separator: "/") {
            path += path.isEmpty ? String(part) : "/\(part)"
            if made.contains(path) { continue }
            guard mkdir("\(root)/\(path)", 0o755) == 0 || errno == EEXIST else { throw GeneratorError("mkdir \(path)") }
            made.insert(path)
            summary.directories += 1
        }
    }

    static func word(_ random: inout SplitMix64) -> String {
        let letters = Array("etaoinshrdlucmfwypvbgkqjxz".utf8)
        let length = 2 + Int(random.next(below: 9))
        // Skewed towards common letters, as in real text.
        let bytes = (0..<length).map { _ in letters[Int(random.next(below: 26) * random.next(below: 26) / 26)] }
        return String(decoding: bytes, as: UTF8.self)
    }

    /// Indented lines of words and punctuation, like source code.
    static func text(_ size: Int, words: [String], _ random: inout SplitMix64) -> [UInt8] {
        var out: [UInt8] = []
        out.reserveCapacity(size + 64)
        let separators = Array([" ", " ", " ", ", ", " = ", ".", "(", ") ", ": "].map { Array($0.utf8) })
        while out.count < size {
            out += [UInt8](repeating: 0x20, count: 4 * Int(random.next(below: 4)))
            for _ in 0..<(2 + Int(random.next(below: 9))) {
                // Zipf-like: low word numbers are much more frequent.
                let pick = Int(random.next(below: 2000) * random.next(below: 2000) / 2000)
                out += Array(words[pick].utf8)
                out += separators[Int(random.next(below: UInt64(separators.count)))]
            }
            out.append(0x0a)
        }
        return Array(out.prefix(size))
    }

    /// 16-byte records: a counter, a small field, a tag from a short list and padding.
    static func records(_ size: Int, _ random: inout SplitMix64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        var counter = UInt32(truncatingIfNeeded: random.next())
        var offset = 0
        while offset < size {
            let value = random.next()
            let record: [UInt8] = [
                UInt8(truncatingIfNeeded: counter), UInt8(truncatingIfNeeded: counter >> 8),
                UInt8(truncatingIfNeeded: counter >> 16), UInt8(truncatingIfNeeded: counter >> 24),
                UInt8(truncatingIfNeeded: value & 0x0f), UInt8(truncatingIfNeeded: (value >> 8) & 0x3),
                [0x11, 0x22, 0x7f, 0xfe][Int((value >> 16) & 3)], UInt8(truncatingIfNeeded: value >> 24),
                0, 0, 0, 1, 0xff, 0xff, 0, 0,
            ]
            for (i, byte) in record.enumerated() where offset + i < size { out[offset + i] = byte }
            counter &+= 1 + UInt32(value >> 60)
            offset += 16
        }
        return out
    }

    /// Bytes that do not compress.
    static func noise(_ size: Int, _ random: inout SplitMix64) -> [UInt8] {
        var out = [UInt8](repeating: 0, count: size)
        out.withUnsafeMutableBytes { raw in
            var offset = 0
            while offset < size {
                var value = random.next()
                let count = min(8, size - offset)
                withUnsafeBytes(of: &value) {
                    UnsafeMutableRawBufferPointer(rebasing: raw[offset..<offset + count])
                        .copyMemory(from: UnsafeRawBufferPointer(rebasing: $0[0..<count]))
                }
                offset += count
            }
        }
        return out
    }

    static func writeFile(_ path: String, _ content: [UInt8], mode: Int) throws {
        let made = FileManager.default.createFile(
            atPath: path, contents: Data(content), attributes: [.posixPermissions: mode])
        guard made else { throw GeneratorError("create \(path)") }
    }
}

/// SplitMix64: a small, fast pseudo-random generator whose sequence is fixed by its seed on every platform.
public struct SplitMix64: RandomNumberGenerator {
    private var state: UInt64

    public init(seed: UInt64) { state = seed }

    public mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    /// A number in `0..<bound` (with a negligible bias; fine for test data).
    mutating func next(below bound: UInt64) -> UInt64 { next() % bound }

    /// A number in `0..<1`.
    mutating func nextUnit() -> Double { Double(next() >> 11) / Double(1 << 53) }
}

/// A file operation of the generator failed.
public struct GeneratorError: Error, CustomStringConvertible {
    public var description: String
    init(_ what: String) { description = "cannot \(what): \(String(cString: strerror(errno)))" }
}
