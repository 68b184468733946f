/// Makes a complete raw deflate stream joinable: after ``makeContinuable(_:count:)`` another deflate stream can be
/// appended to it and the two decode as one.
///
/// A deflate stream ends with a block whose first header bit (BFINAL) is set; a decoder stops there. libdeflate only
/// writes complete streams, so to join the separately compressed blocks of a slug into one gzip member the joiner
/// walks the stream's blocks (RFC 1951: it decodes the Huffman codes without producing any output) to find the last
/// block's header, clears its BFINAL bit, and ends the stream on a byte boundary with an empty stored block, which is
/// the marker zlib's `Z_SYNC_FLUSH` writes. pigz joins its blocks the same way.
///
/// Reusable, not thread-safe: each compressing thread has its own.
final class DeflateJoiner {
    /// Bytes the buffer given to ``makeContinuable(_:count:)`` must have free after the stream.
    static let spareBytes = 5

    private let literals = HuffmanDecoder(capacity: 288)
    private let distances = HuffmanDecoder(capacity: 32)
    private let codeLengths = HuffmanDecoder(capacity: 19)
    private let fixedLiterals = HuffmanDecoder(capacity: 288)
    private let fixedDistances = HuffmanDecoder(capacity: 32)
    private let lengths = UnsafeMutablePointer<UInt8>.allocate(capacity: 320)

    init() throws {
        // The fixed codes of block type 1 (RFC 1951, 3.2.6).
        for symbol in 0..<288 { lengths[symbol] = symbol < 144 ? 8 : symbol < 256 ? 9 : symbol < 280 ? 7 : 8 }
        try fixedLiterals.build(lengths, count: 288)
        for symbol in 0..<32 { lengths[symbol] = 5 }
        try fixedDistances.build(lengths, count: 32)
    }

    deinit {
        lengths.deallocate()
    }

    /// Rewrites the complete raw deflate stream in `buffer[0..<count]` so that it does not end the data, and returns
    /// its new length (at most ``spareBytes`` more). Throws if the bytes are not one valid deflate stream.
    func makeContinuable(_ buffer: UnsafeMutablePointer<UInt8>, count: Int) throws -> Int {
        let (finalHeader, end) = try walk(UnsafePointer(buffer), count: count)
        guard (end + 7) / 8 == count else { throw DeflateStreamError("data after the end of the stream") }
        buffer[finalHeader >> 3] &= ~(UInt8(1) << UInt8(finalHeader & 7))
        let usedBits = end & 7
        guard usedBits != 0 else { return count }  // already on a byte boundary
        var length = count
        buffer[length - 1] &= UInt8((1 << usedBits) - 1)
        // The zero bits after the last code start the stored block's three header bits (not final, type 00); if
        // fewer than three are left, the header runs into one more zero byte. Then LEN 0 and NLEN 0xffff.
        if 8 - usedBits < 3 {
            buffer[length] = 0
            length += 1
        }
        for byte: UInt8 in [0, 0, 0xff, 0xff] {
            buffer[length] = byte
            length += 1
        }
        return length
    }

    /// Finds the bit position of the last block's header and the bit position just after the stream's end.
    func walk(_ bytes: UnsafePointer<UInt8>, count: Int) throws -> (finalHeader: Int, end: Int) {
        var reader = BitReader(bytes: bytes, count: count)
        while true {
            let header = reader.position
            let isFinal = try reader.take(1) == 1
            switch try reader.take(2) {
            case 0:
                reader.alignToByte()
                let length = try reader.take(16)
                guard try reader.take(16) == ~length & 0xffff else {
                    throw DeflateStreamError("stored block length check failed")
                }
                try reader.skipBytes(Int(length))
            case 1:
                try skipCodes(&reader, literals: fixedLiterals, distances: fixedDistances)
            case 2:
                try readDynamicCodes(&reader)
                try skipCodes(&reader, literals: literals, distances: distances)
            default:
                throw DeflateStreamError("invalid block type")
            }
            if isFinal { return (header, reader.position) }
        }
    }

    /// Reads the code lengths of a dynamic block (RFC 1951, 3.2.7) and builds its two decoders.
    private func readDynamicCodes(_ reader: inout BitReader) throws {
        let literalCount = Int(try reader.take(5)) + 257
        let distanceCount = Int(try reader.take(5)) + 1
        let codeLengthCount = Int(try reader.take(4)) + 4
        guard literalCount <= 286, distanceCount <= 30 else { throw DeflateStreamError("too many codes") }
        let order = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]
        lengths.initialize(repeating: 0, count: 19)
        for index in 0..<codeLengthCount { lengths[order[index]] = UInt8(try reader.take(3)) }
        try codeLengths.build(lengths, count: 19)

        let total = literalCount + distanceCount
        var index = 0
        while index < total {
            let symbol = try codeLengths.decode(&reader)
            if symbol < 16 {
                lengths[index] = UInt8(symbol)
                index += 1
                continue
            }
            let value: UInt8
            let repeats: Int
            switch symbol {
            case 16:
                guard index > 0 else { throw DeflateStreamError("repeat with no previous length") }
                value = lengths[index - 1]
                repeats = 3 + Int(try reader.take(2))
            case 17:
                value = 0
                repeats = 3 + Int(try reader.take(3))
            default:
                value = 0
                repeats = 11 + Int(try reader.take(7))
            }
            guard index + repeats <= total else { throw DeflateStreamError("too many code lengths") }
            (lengths + index).initialize(repeating: value, count: repeats)
            index += repeats
        }
        guard lengths[256] != 0 else { throw DeflateStreamError("no end-of-block code") }
        try literals.build(lengths, count: literalCount)
        try distances.build(lengths + literalCount, count: distanceCount)
    }

    /// Reads the codes of a Huffman block up to its end-of-block code, skipping the extra bits of each match.
    private func skipCodes(_ reader: inout BitReader, literals: HuffmanDecoder, distances: HuffmanDecoder) throws {
        while true {
            let symbol = try literals.decode(&reader)
            if symbol < 256 { continue }
            if symbol == 256 { return }
            guard symbol <= 285 else { throw DeflateStreamError("invalid length code") }
            _ = try reader.take(Self.lengthExtraBits[symbol - 257])
            let distance = try distances.decode(&reader)
            guard distance < 30 else { throw DeflateStreamError("invalid distance code") }
            _ = try reader.take(Self.distanceExtraBits[distance])
        }
    }

    private static let lengthExtraBits = [
        0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0,
    ]
    private static let distanceExtraBits = [
        0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13,
    ]
}

/// The bytes are not a valid raw deflate stream.
struct DeflateStreamError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = "invalid deflate stream: \(description)" }
}

/// Reads a deflate stream's bits, least significant first (RFC 1951, 3.1.1).
struct BitReader {
    let bytes: UnsafePointer<UInt8>
    let count: Int
    /// The next byte to load into `buffer`.
    private var next = 0
    /// Loaded bits not yet read, the next one lowest.
    private(set) var buffer: UInt64 = 0
    private(set) var available = 0

    init(bytes: UnsafePointer<UInt8>, count: Int) {
        self.bytes = bytes
        self.count = count
    }

    /// The bit position of the next unread bit, from the start of the stream.
    var position: Int { next * 8 - available }

    /// Loads bytes until the buffer holds at least 57 bits or the input ends.
    @inline(__always) mutating func refill() {
        while available <= 56 && next < count {
            buffer |= UInt64(bytes[next]) << UInt64(available)
            next += 1
            available += 8
        }
    }

    /// Reads `n` bits (0–32) as a number.
    @inline(__always) mutating func take(_ n: Int) throws -> UInt32 {
        if available < n {
            refill()
            guard available >= n else { throw DeflateStreamError("the stream ends in the middle of a block") }
        }
        let value = UInt32(truncatingIfNeeded: buffer & ((1 << UInt64(n)) - 1))
        drop(n)
        return value
    }

    /// Discards `n` bits the caller has checked are loaded.
    @inline(__always) mutating func drop(_ n: Int) {
        buffer >>= UInt64(n)
        available -= n
    }

    /// Skips to the next byte boundary.
    mutating func alignToByte() {
        drop(available & 7)
    }

    /// Skips `n` whole bytes; the reader must be on a byte boundary.
    mutating func skipBytes(_ n: Int) throws {
        let position = next - available / 8
        guard position + n <= count else { throw DeflateStreamError("a stored block runs past the end") }
        next = position + n
        buffer = 0
        available = 0
    }
}

/// Decodes one canonical Huffman code (RFC 1951, 3.2.2): codes of up to ``fastBits`` bits through a lookup table,
/// longer ones bit by bit, as zlib's `puff` does.
final class HuffmanDecoder {
    static let fastBits = 10
    /// Indexed by the next `fastBits` bits: the symbol times 16 plus the code's length, or 0 for a longer code.
    private let fast = UnsafeMutablePointer<UInt16>.allocate(capacity: 1 << HuffmanDecoder.fastBits)
    /// How many codes have each length 0–15.
    private let counts = UnsafeMutablePointer<Int>.allocate(capacity: 16)
    /// The symbols ordered by code length, then by value: the canonical order.
    private let symbols: UnsafeMutablePointer<UInt16>

    init(capacity: Int) {
        symbols = .allocate(capacity: capacity)
    }

    deinit {
        fast.deallocate()
        counts.deallocate()
        symbols.deallocate()
    }

    /// Builds the decoder for the code lengths `lengths[0..<count]` (0 means the symbol is not used).
    func build(_ lengths: UnsafePointer<UInt8>, count: Int) throws {
        counts.initialize(repeating: 0, count: 16)
        for symbol in 0..<count { counts[Int(lengths[symbol])] += 1 }
        counts[0] = 0
        var left = 1
        for length in 1...15 {
            left = (left << 1) - counts[length]
            guard left >= 0 else { throw DeflateStreamError("over-subscribed Huffman code") }
        }
        var offsets = [Int](repeating: 0, count: 16)
        for length in 1..<15 { offsets[length + 1] = offsets[length] + counts[length] }
        for symbol in 0..<count where lengths[symbol] != 0 {
            symbols[offsets[Int(lengths[symbol])]] = UInt16(symbol)
            offsets[Int(lengths[symbol])] += 1
        }
        let size = 1 << Self.fastBits
        fast.initialize(repeating: 0, count: size)
        var code = 0
        var index = 0
        for length in 1...Self.fastBits {
            for _ in 0..<counts[length] {
                // Codes are sent most significant bit first, the table is indexed least significant bit first.
                var reversed = 0
                for bit in 0..<length where code & (1 << bit) != 0 { reversed |= 1 << (length - 1 - bit) }
                let entry = UInt16(Int(symbols[index]) << 4 | length)
                var slot = reversed
                while slot < size {
                    fast[slot] = entry
                    slot += 1 << length
                }
                code += 1
                index += 1
            }
            code <<= 1
        }
    }

    /// Reads one code and returns its symbol.
    @inline(__always) func decode(_ reader: inout BitReader) throws -> Int {
        if reader.available < Self.fastBits { reader.refill() }
        let entry = fast[Int(reader.buffer & UInt64((1 << Self.fastBits) - 1))]
        if entry != 0 {
            let length = Int(entry & 15)
            guard length <= reader.available else { throw DeflateStreamError("the stream ends inside a code") }
            reader.drop(length)
            return Int(entry >> 4)
        }
        var code = 0
        var first = 0
        var index = 0
        for length in 1...15 {
            code |= Int(try reader.take(1))
            let count = counts[length]
            if code - first < count { return Int(symbols[index + code - first]) }
            index += count
            first = (first + count) << 1
            code <<= 1
        }
        throw DeflateStreamError("invalid Huffman code")
    }
}
