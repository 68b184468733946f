/// Something that accepts a stream of bytes: the next stage of a slug's pipeline (tar → gzip → file).
public protocol ByteSink: AnyObject {
    /// Consumes `bytes`; throws when they cannot be taken (disk full, size limit, compression error).
    func write(_ bytes: UnsafeRawBufferPointer) throws
}

/// A compressing stage (``GzipWriter``, ``ZstdWriter``): a sink whose output is complete only after ``finish()``.
public protocol CompressingSink: ByteSink {
    /// Compresses what is left and writes the end of the stream.
    func finish() throws
}
