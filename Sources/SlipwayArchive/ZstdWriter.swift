import CZstd

/// Compresses a byte stream into one zstd frame with libzstd on several threads and passes it to the next
/// ``ByteSink``.
///
/// libzstd's multi-threaded mode is always used, even with one thread, because its output depends only on the input,
/// the level and the job size, not on the number of worker threads: the same input always gives the same bytes. The frame carries
/// a content checksum, as the `zstd` command writes by default. Call ``finish()`` to end the frame; a writer released
/// without `finish()` only frees libzstd's state.
public final class ZstdWriter: CompressingSink {
    /// The input each worker compresses at a time. libzstd's default at level 3 (8 MiB) holds about 80 MiB with two
    /// threads; 2 MiB keeps a slug's packing under 64 MiB for the same ratio as the `zstd` command.
    static let jobSize: Int32 = 2 << 20
    private let context: OpaquePointer
    private let next: ByteSink
    private let outBuffer: UnsafeMutableRawBufferPointer
    private var finished = false

    /// Creates a writer at compression `level` (1–19; 3 is the `zstd` command's default) using `threads` worker
    /// threads.
    public init(level: Int32 = 3, threads: Int = GzipWriter.defaultThreads, to next: ByteSink) throws {
        guard (1...19).contains(level) else {
            throw ArchiveError("ZSTD_CCtx_setParameter", "compression level \(level) is not 1–19")
        }
        guard let context = ZSTD_createCCtx() else { throw ArchiveError("ZSTD_createCCtx", "out of memory") }
        self.context = context
        self.next = next
        outBuffer = .allocate(byteCount: ZSTD_CStreamOutSize(), alignment: 16)
        try set(ZSTD_c_compressionLevel, level, "compression level \(level)")
        try set(ZSTD_c_checksumFlag, 1, "content checksum")
        try set(ZSTD_c_nbWorkers, Int32(max(1, threads)), "\(threads) worker threads (is libzstd built with threads?)")
        try set(ZSTD_c_jobSize, Self.jobSize, "job size")
    }

    deinit {
        ZSTD_freeCCtx(context)
        outBuffer.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw ArchiveError("ZSTD_compressStream2", "write after finish") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        var input = ZSTD_inBuffer(src: base, size: bytes.count, pos: 0)
        while input.pos < input.size {
            _ = try compress(&input, ZSTD_e_continue)
        }
    }

    /// Compresses what libzstd still holds and writes the end of the frame.
    public func finish() throws {
        guard !finished else { return }
        finished = true
        var input = ZSTD_inBuffer(src: nil, size: 0, pos: 0)
        while try compress(&input, ZSTD_e_end) != 0 {}
    }

    /// One call of `ZSTD_compressStream2`; passes on what it produced and returns what it says is left to flush.
    private func compress(_ input: inout ZSTD_inBuffer, _ directive: ZSTD_EndDirective) throws -> Int {
        var output = ZSTD_outBuffer(dst: outBuffer.baseAddress, size: outBuffer.count, pos: 0)
        let remaining = ZSTD_compressStream2(context, &output, &input, directive)
        if ZSTD_isError(remaining) != 0 {
            throw ArchiveError("ZSTD_compressStream2", String(cString: ZSTD_getErrorName(remaining)))
        }
        if output.pos > 0 { try next.write(UnsafeRawBufferPointer(rebasing: outBuffer[0..<output.pos])) }
        return remaining
    }

    private func set(_ parameter: ZSTD_cParameter, _ value: Int32, _ what: String) throws {
        let rc = ZSTD_CCtx_setParameter(context, parameter, value)
        if ZSTD_isError(rc) != 0 {
            throw ArchiveError("ZSTD_CCtx_setParameter", "\(what): \(String(cString: ZSTD_getErrorName(rc)))")
        }
    }
}
