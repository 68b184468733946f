import CZlib

/// Compresses a byte stream into gzip format with zlib and passes the result to the next ``ByteSink``.
///
/// The gzip header carries no file name and a zero timestamp, so the same input always gives the same bytes.
/// Call ``finish()`` to write the trailer; a writer released without `finish()` frees zlib's state only.
public final class GzipWriter: ByteSink {
    /// zlib keeps internal pointers into the stream struct, so it lives on the heap at a fixed address.
    private let stream: UnsafeMutablePointer<z_stream>
    private let next: ByteSink
    private var outBuffer: [UInt8]
    private var finished = false

    /// Creates a writer at compression `level` (zlib's 0–9; 6 is gzip's and tar's default).
    public init(level: Int32 = 6, to next: ByteSink, bufferSize: Int = 256 * 1024) throws {
        stream = .allocate(capacity: 1)
        stream.initialize(to: z_stream())
        self.next = next
        outBuffer = [UInt8](repeating: 0, count: bufferSize)
        // windowBits 15 + 16 asks zlib for a gzip wrapper instead of a zlib one.
        let rc = slipway_deflateInit2(stream, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY)
        guard rc == Z_OK else {
            stream.deallocate()
            throw ArchiveError("deflateInit2", zlibMessage(rc, nil))
        }
    }

    deinit {
        deflateEnd(stream)
        stream.deinitialize(count: 1)
        stream.deallocate()
    }

    public func write(_ bytes: UnsafeRawBufferPointer) throws {
        guard !finished else { throw ArchiveError("deflate", "write after finish") }
        guard let base = bytes.baseAddress, bytes.count > 0 else { return }
        stream.pointee.next_in = UnsafeMutablePointer(mutating: base.assumingMemoryBound(to: Bytef.self))
        stream.pointee.avail_in = uInt(bytes.count)
        try pump(flush: Z_NO_FLUSH)
    }

    /// Writes the remaining compressed data and the gzip trailer (CRC and length).
    public func finish() throws {
        guard !finished else { return }
        finished = true
        stream.pointee.next_in = nil
        stream.pointee.avail_in = 0
        try pump(flush: Z_FINISH)
    }

    /// Runs deflate until it has consumed all input (or, with Z_FINISH, written the end of the stream).
    private func pump(flush: Int32) throws {
        try outBuffer.withUnsafeMutableBytes { out in
            let outBase = out.baseAddress!.assumingMemoryBound(to: Bytef.self)
            while true {
                stream.pointee.next_out = outBase
                stream.pointee.avail_out = uInt(out.count)
                let rc = deflate(stream, flush)
                if rc != Z_OK && rc != Z_STREAM_END && rc != Z_BUF_ERROR {
                    throw ArchiveError("deflate", zlibMessage(rc, stream.pointee.msg))
                }
                let produced = out.count - Int(stream.pointee.avail_out)
                if produced > 0 { try next.write(UnsafeRawBufferPointer(rebasing: out[0..<produced])) }
                if flush == Z_FINISH {
                    if rc == Z_STREAM_END { return }
                } else if stream.pointee.avail_in == 0 && stream.pointee.avail_out > 0 {
                    return
                }
            }
        }
    }
}

func zlibMessage(_ rc: Int32, _ msg: UnsafePointer<CChar>?) -> String {
    if let msg { return String(cString: msg) }
    if let text = zError(rc) { return String(cString: text) }
    return "zlib error \(rc)"
}
