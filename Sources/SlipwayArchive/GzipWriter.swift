import CDeflate
import CZlib
import Dispatch
import Foundation

/// Compresses a byte stream into one gzip member on several threads and passes the result to the next ``ByteSink``.
///
/// The stream is cut into blocks of exactly ``blockSize`` bytes (the last one may be shorter). Each block is
/// compressed on its own by libdeflate, which at level 6 is about twice as fast as zlib and compresses a little
/// better; a ``DeflateJoiner`` then turns every block but the last into a stream that continues (pigz's method), so
/// the blocks join into **one** deflate stream inside **one** gzip member, which every gzip reader accepts (some,
/// such as Rust's `GzDecoder`, read only the first member of a multi-member file). Each block's CRC-32 is computed
/// beside its compression and the CRCs are joined in order with zlib's `crc32_combine`.
///
/// The output depends only on the input and the level (and libdeflate's version), never on the number of threads
/// or on timing: the same input always gives the same bytes. The gzip header carries no file name, a zero
/// timestamp and the Unix OS byte. At most `2 × threads + 2` blocks are in flight, so memory stays at a few MiB
/// whatever the size of the input. With `threads: 1` every block is compressed on the caller's thread.
///
/// Call ``finish()`` to write the trailer; a writer released without `finish()` only frees its memory.
///
/// **Segments.** Since every block is compressed on its own (no dictionary carried from the block before), the
/// compressed form of a run of input that starts and ends on a block boundary stands alone: ``beginSegment(recordingTo:)``
/// and ``endSegment()`` cut blocks at both ends of a run and copy its compressed bytes to a recorder, and
/// ``splice(_:writeBytes:)`` puts such a run into another member in place of compressing the same input again (the
/// member's CRC-32 combined with the run's, its length added). A member with spliced runs is as valid as any; its
/// bytes are those of packing from scratch with the same cuts.
public final class GzipWriter: CompressingSink {
    /// The size of the blocks the stream is cut into. Larger blocks compress a little better and hold more memory.
    public static let blockSize = 256 * 1024

    private let next: ByteSink
    private let level: Int32
    /// The compressor used on the caller's thread when there is one thread; nil otherwise.
    private let inline: BlockCompressor?
    /// The compressing threads; nil when there is one thread.
    private let pool: CompressorPool?
    private let maximumInFlight: Int
    /// The block being filled.
    private var current: CompressionBlock
    /// Blocks handed to the pool, oldest first; written out in this order.
    private var pending: [CompressionBlock] = []
    private var spare: [CompressionBlock] = []
    private var crc: uLong = crc32(0, nil, 0)
    private var length: UInt64 = 0
    private var finished = false
    private var failed = false
    /// The segment being recorded: where its compressed bytes are copied, its CRC-32 and length so far.
    private var recorder: (sink: ByteSink, crc: uLong, length: UInt64)?

    /// The compressing library and its version: what a recorded segment's bytes depend on besides the level.
    public static let compressorVersion = LIBDEFLATE_VERSION_STRING

    /// The number of threads used when none is given: the processors online.
    public static var defaultThreads: Int { max(1, sysconf(Int32(_SC_NPROCESSORS_ONLN))) }

    /// Creates a writer at compression `level` (1–12; 6 is gzip's and tar's default) that compresses on `threads`
    /// threads, and writes the gzip header.
    public init(level: Int32 = 6, threads: Int = GzipWriter.defaultThreads, to next: ByteSink) throws {
        guard (1...12).contains(level) else {
            throw ArchiveError("libdeflate", "compression level \(level) is not 1–12")
        }
        self.next = next
        self.level = level
        let threads = max(1, threads)
        if threads == 1 {
            inline = try BlockCompressor(level: level)
            pool = nil
        } else {
            inline = nil
            pool = try CompressorPool(threads: threads, level: level)
        }
        maximumInFlight = 2 * threads + 2
        current = CompressionBlock()
        try writeHeader()
    }

    deinit {
        pool?.close()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished, !failed else { throw ArchiveError("deflate", "write after finish or after an error") }
        guard let base = bytes.baseAddress else { return }
        var offset = 0
        while offset < bytes.count {
            // A full block is sent only once more input arrives, so the last block is never empty (unless the
            // whole stream is) and the cuts fall at the same offsets however the input is split into writes.
            if current.inputCount == Self.blockSize { try send(last: false) }
            let count = min(Self.blockSize - current.inputCount, bytes.count - offset)
            UnsafeMutableRawBufferPointer(rebasing: current.input[current.inputCount..<current.inputCount + count])
                .copyMemory(from: UnsafeRawBufferPointer(start: base + offset, count: count))
            current.inputCount += count
            offset += count
        }
    }

    /// Compresses what is left, waits for every block, and writes the gzip trailer (CRC-32 and length).
    public func finish() throws {
        guard !finished else { return }
        guard !failed else { throw ArchiveError("deflate", "finish after an error") }
        guard recorder == nil else { throw ArchiveError("deflate", "finish inside a segment") }
        finished = true
        try send(last: true)
        try drain()
        var trailer = [UInt8](repeating: 0, count: 8)
        for index in 0..<4 {
            trailer[index] = UInt8(truncatingIfNeeded: UInt64(crc) >> (8 * index))
            trailer[4 + index] = UInt8(truncatingIfNeeded: length >> (8 * index))
        }
        try emit(trailer)
    }

    /// The CRC-32 and length of a recorded segment's input, which a splice of it adds to a member.
    public struct Segment: Sendable, Equatable {
        public var crc: UInt32
        public var length: UInt64
        public init(crc: UInt32, length: UInt64) {
            self.crc = crc
            self.length = length
        }
    }

    /// Ends the current block here (if it holds anything), so the next byte starts a new one.
    public func cut() throws {
        guard !finished, !failed else { throw ArchiveError("deflate", "cut after finish or after an error") }
        if current.inputCount > 0 { try send(last: false) }
    }

    /// Cuts a block here and copies the compressed bytes of everything written from now to ``endSegment()`` to
    /// `sink` (besides the member's output).
    public func beginSegment(recordingTo sink: ByteSink) throws {
        guard recorder == nil else { throw ArchiveError("deflate", "a segment is already being recorded") }
        try cut()
        try drain()
        recorder = (sink, crc32(0, nil, 0), 0)
    }

    /// Cuts a block here and returns the CRC-32 and length of the segment's input; its compressed bytes have all
    /// reached the recorder.
    public func endSegment() throws -> Segment {
        guard recorder != nil else { throw ArchiveError("deflate", "no segment is being recorded") }
        try cut()
        try drain()
        guard let recorded = recorder else { throw ArchiveError("deflate", "no segment is being recorded") }
        recorder = nil
        return Segment(crc: UInt32(truncatingIfNeeded: recorded.crc), length: recorded.length)
    }

    /// Cuts a block here and puts a recorded segment in the member: `writeBytes` writes its compressed bytes to the
    /// sink it is given, and `segment` (its input's CRC-32 and length) is folded into the trailer.
    public func splice(_ segment: Segment, writeBytes: (ByteSink) throws -> Void) throws {
        guard recorder == nil else { throw ArchiveError("deflate", "cannot splice into a segment being recorded") }
        try cut()
        try drain()
        do { try writeBytes(next) } catch {
            failed = true
            throw error
        }
        crc = crc32_combine(crc, uLong(segment.crc), Int(segment.length))
        length += segment.length
    }

    /// Waits for every block in flight and writes them out.
    private func drain() throws {
        while !pending.isEmpty { try collectOldest() }
    }

    /// Sends the current block to be compressed and starts an empty one.
    private func send(last: Bool) throws {
        let block = current
        block.isLast = last
        if !last {
            current = spare.popLast() ?? CompressionBlock()
            current.inputCount = 0
        }
        if let inline {
            inline.compress(block)
            try write(block)
            spare.append(block)
            return
        }
        pending.append(block)
        pool?.submit(block)
        if pending.count >= maximumInFlight { try collectOldest() }
    }

    /// Waits for the oldest block in flight and writes it out.
    private func collectOldest() throws {
        let block = pending.removeFirst()
        block.done.wait()
        try write(block)
        spare.append(block)
    }

    /// Folds a compressed block into the CRC and length and passes its bytes on.
    private func write(_ block: CompressionBlock) throws {
        if let error = block.error {
            failed = true
            throw error
        }
        crc = crc32_combine(crc, uLong(block.crc), Int(block.inputCount))
        length += UInt64(block.inputCount)
        do {
            let bytes = UnsafeRawBufferPointer(start: block.output, count: block.outputCount)
            try next.write(bytes)
            if let (sink, segmentCRC, segmentLength) = recorder {
                try sink.write(bytes)
                recorder = (
                    sink, crc32_combine(segmentCRC, uLong(block.crc), Int(block.inputCount)),
                    segmentLength + UInt64(block.inputCount)
                )
            }
        } catch {
            failed = true
            throw error
        }
    }

    /// The ten-byte gzip header: no name, mtime 0, XFL from the level as zlib sets it, OS 3 (Unix).
    private func writeHeader() throws {
        let extraFlags: UInt8 = level >= 9 ? 2 : (level < 2 ? 4 : 0)
        try emit([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, extraFlags, 3])
    }

    private func emit(_ bytes: [UInt8]) throws {
        do {
            try bytes.withUnsafeBytes { try next.write($0) }
        } catch {
            failed = true
            throw error
        }
    }
}

/// The blocks waiting to be compressed, and the threads that compress them: each takes the oldest waiting block,
/// so a thread that finishes early never waits behind a slow one. Each thread has its own compressor.
private final class CompressorPool: @unchecked Sendable {
    private let condition = NSCondition()
    /// Guarded by `condition`.
    private var waiting: [CompressionBlock] = []
    /// Guarded by `condition`.
    private var closed = false

    init(threads: Int, level: Int32) throws {
        let compressors = try (0..<threads).map { _ in try BlockCompressor(level: level) }
        for (index, compressor) in compressors.enumerated() {
            let thread = Thread { [self] in
                while let block = take() {
                    compressor.compress(block)
                    block.done.signal()
                }
            }
            thread.name = "slipway-gzip-\(index)"
            thread.start()
        }
    }

    /// Queues `block`; its `done` semaphore is signalled once it is compressed.
    func submit(_ block: CompressionBlock) {
        condition.lock()
        waiting.append(block)
        condition.signal()
        condition.unlock()
    }

    /// Lets the threads end once the queue is empty.
    func close() {
        condition.lock()
        closed = true
        condition.broadcast()
        condition.unlock()
    }

    /// The oldest waiting block, or nil once the pool is closed and empty.
    private func take() -> CompressionBlock? {
        condition.lock()
        defer { condition.unlock() }
        while waiting.isEmpty && !closed { condition.wait() }
        return waiting.isEmpty ? nil : waiting.removeFirst()
    }
}

/// One block of input and its compressed form.
///
/// The writer owns a block, except between submitting it to the pool and waiting on ``done``: then only the thread
/// that compresses it touches it. The pool's lock and the semaphore order the two.
private final class CompressionBlock: @unchecked Sendable {
    /// Room for a block that does not compress (stored blocks add 5 bytes per 64 KiB) plus the joining marker.
    static let outputCapacity = GzipWriter.blockSize + GzipWriter.blockSize / 1024 + 1024

    let input = UnsafeMutableRawBufferPointer.allocate(byteCount: GzipWriter.blockSize, alignment: 16)
    var inputCount = 0
    var isLast = false
    let output = UnsafeMutablePointer<UInt8>.allocate(capacity: CompressionBlock.outputCapacity)
    var outputCount = 0
    var crc: UInt32 = 0
    var error: ArchiveError?
    let done = DispatchSemaphore(value: 0)

    deinit {
        input.deallocate()
        output.deallocate()
    }
}

/// A libdeflate compressor and the joiner that makes its output continuable. Not thread-safe: one thread uses it.
private final class BlockCompressor: @unchecked Sendable {
    private let compressor: OpaquePointer
    private let joiner: DeflateJoiner

    init(level: Int32) throws {
        guard let compressor = libdeflate_alloc_compressor(level) else {
            throw ArchiveError("libdeflate_alloc_compressor", "out of memory or invalid level \(level)")
        }
        let bound = libdeflate_deflate_compress_bound(compressor, GzipWriter.blockSize) + DeflateJoiner.spareBytes
        guard bound <= CompressionBlock.outputCapacity else {
            libdeflate_free_compressor(compressor)
            throw ArchiveError("libdeflate_deflate_compress_bound", "a block may need \(bound) bytes")
        }
        self.compressor = compressor
        do {
            joiner = try DeflateJoiner()
        } catch {
            libdeflate_free_compressor(compressor)
            throw ArchiveError("DeflateJoiner", "\(error)")
        }
    }

    deinit {
        libdeflate_free_compressor(compressor)
    }

    /// Compresses `block` into its output and computes its CRC-32; a failure is left in `block.error`.
    func compress(_ block: CompressionBlock) {
        block.error = nil
        block.crc = libdeflate_crc32(0, block.input.baseAddress, block.inputCount)
        let room = CompressionBlock.outputCapacity - DeflateJoiner.spareBytes
        let size = libdeflate_deflate_compress(
            compressor, block.input.baseAddress, block.inputCount, block.output, room)
        guard size > 0 else {
            block.error = ArchiveError("libdeflate_deflate_compress", "the compressed block did not fit \(room) bytes")
            return
        }
        if block.isLast {
            block.outputCount = size
            return
        }
        do {
            block.outputCount = try joiner.makeContinuable(block.output, count: size)
        } catch {
            block.error = ArchiveError("DeflateJoiner", "\(error)")
        }
    }
}
