/// A failure reported by libarchive, zlib, or the file a slug is written to.
public struct ArchiveError: Error, CustomStringConvertible, Sendable {
    /// The C function (or operation) that failed, for example `archive_write_header`.
    public var function: String
    /// The library's own message.
    public var message: String

    public init(_ function: String, _ message: String) {
        self.function = function
        self.message = message
    }

    public var description: String { "\(function) failed: \(message)" }
}

/// Raised when the compressed output passes the size limit given to ``HashingFileOutput``.
public struct OutputLimitExceeded: Error, Sendable {
    /// The limit in bytes.
    public var limit: Int64
}
