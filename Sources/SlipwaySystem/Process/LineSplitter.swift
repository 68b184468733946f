/// Cuts a byte stream into lines as the bytes arrive, so each line can be shown the moment it is complete.
///
/// Lines are decoded as UTF-8 (invalid bytes become U+FFFD). A line longer than `maxLineLength` is cut into pieces
/// of that length, so a buildpack that never prints a newline cannot make memory grow.
public struct LineSplitter: Sendable {
    private var pending: [UInt8] = []
    public let maxLineLength: Int

    public init(maxLineLength: Int = 64 * 1024) {
        self.maxLineLength = maxLineLength
    }

    /// Adds `bytes` and returns every line completed by them, without their newlines.
    public mutating func append(_ bytes: UnsafeRawBufferPointer) -> [String] {
        var lines: [String] = []
        for byte in bytes {
            if byte == 0x0a {
                lines.append(Self.decode(pending))
                pending.removeAll(keepingCapacity: true)
            } else {
                pending.append(byte)
                if pending.count >= maxLineLength {
                    lines.append(Self.decode(pending))
                    pending.removeAll(keepingCapacity: true)
                }
            }
        }
        return lines
    }

    /// Returns the last, unterminated line, if any.
    public mutating func flush() -> String? {
        guard !pending.isEmpty else { return nil }
        defer { pending.removeAll() }
        return Self.decode(pending)
    }

    private static func decode(_ bytes: [UInt8]) -> String {
        var line = String(decoding: bytes, as: UTF8.self)
        if line.hasSuffix("\r") { line.removeLast() }
        return line
    }
}
