/// Hides the server's folders in what `git receive-pack` and its hooks send the pusher.
///
/// git names files by their absolute path in its errors (`Unable to create
/// '/var/lib/slipway/apps/myapp/repo.git/./refs/heads/main.lock': File exists.`), and those errors reach the pusher
/// as `remote:` lines. The door therefore reads git's output and rewrites it before passing it on:
///
/// - ``Redactions`` replaces paths in a piece of text, longest first: the repository's own prefix goes (the message
///   then reads `'refs/heads/main.lock'`), then any other path under the root becomes `<server>`.
/// - ``SidebandRedactor`` follows git's pkt-line framing on stdout and rewrites only the side-band messages (band 2,
///   progress and errors, and band 3, fatal errors), a whole line at a time, so that a path split across two packets
///   is still found. Every other packet (the ref advertisement, the report, band 1) passes through byte for byte.
/// - ``LineRedactor`` does the same for stderr, where git writes when the client asked for no side-band.
public struct Redactions: Sendable {
    /// What to replace, in order: each path with its replacement.
    public private(set) var pairs: [(path: [UInt8], replacement: [UInt8])] = []

    public init() {}

    /// Redactions for a push to `repository` under `root`.
    public static func door(repository: String, root: String) -> Redactions {
        var redactions = Redactions()
        redactions.add("\(repository)/./", as: "")
        redactions.add("\(repository)/", as: "")
        redactions.add(repository, as: "<repository>")
        redactions.add(root, as: "<server>")
        return redactions
    }

    /// Adds a replacement; earlier ones are applied first.
    public mutating func add(_ path: String, as replacement: String) {
        guard !path.isEmpty else { return }
        pairs.append((Array(path.utf8), Array(replacement.utf8)))
    }

    /// `bytes` with every redaction applied.
    public func apply(_ bytes: [UInt8]) -> [UInt8] {
        var text = bytes
        for (path, replacement) in pairs { text = Self.replace(path, with: replacement, in: text) }
        return text
    }

    static func replace(_ needle: [UInt8], with replacement: [UInt8], in haystack: [UInt8]) -> [UInt8] {
        guard !needle.isEmpty, haystack.count >= needle.count, let first = needle.first else { return haystack }
        var out: [UInt8] = []
        out.reserveCapacity(haystack.count)
        var index = 0
        let last = haystack.count - needle.count
        while index < haystack.count {
            if index <= last, haystack[index] == first, haystack[index..<index + needle.count].elementsEqual(needle) {
                out.append(contentsOf: replacement)
                index += needle.count
            } else {
                out.append(haystack[index])
                index += 1
            }
        }
        return out
    }
}

/// Redacts line by line: text is held back until its line ends (`\n` or `\r`, git's progress lines), or until it
/// grows past ``limit`` bytes, so a path is never split between two pieces that are redacted apart.
public struct LineRedactor: Sendable {
    public let redactions: Redactions
    /// The longest text held back waiting for its line to end.
    public var limit = 4096
    private var pending: [UInt8] = []

    public init(_ redactions: Redactions) { self.redactions = redactions }

    /// Takes `bytes`; returns the redacted complete lines among what was held back and `bytes`.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [UInt8] {
        pending.append(contentsOf: bytes)
        guard let end = pending.lastIndex(where: { $0 == 0x0A || $0 == 0x0D }) else {
            return pending.count > limit ? finish() : []
        }
        let complete = Array(pending[...end])
        pending.removeSubrange(...end)
        return redactions.apply(complete)
    }

    /// Returns whatever is held back, redacted.
    public mutating func finish() -> [UInt8] {
        defer { pending = [] }
        return redactions.apply(pending)
    }

    /// Whether text is held back.
    public var isHolding: Bool { !pending.isEmpty }
}

/// Rewrites the side-band messages in a stream of git pkt-lines (`git receive-pack`'s stdout).
///
/// A pkt-line is four hex digits giving its length (header included) and then its payload; `0000`, `0001` and
/// `0002` are the flush, delimiter and response-end packets. With side-band on, the first payload byte is the band:
/// 1 data, 2 progress and errors, 3 a fatal error. Without it, receive-pack's packets are ref advertisement and
/// report lines, which never start with byte 2 or 3. If the stream stops looking like pkt-lines, the rest passes
/// through untouched: the filter must never be what breaks a push. Behind the HTTP door, `git http-backend` writes
/// CGI headers first: with `afterHeaders`, they pass as they are, up to the blank line that ends them.
public struct SidebandRedactor: Sendable {
    /// The largest payload of one packet (git's LARGE_PACKET_MAX less the four header bytes).
    static let maxPayload = 65516

    private var input: [UInt8] = []
    /// Band 2 (progress, errors) and band 3 (fatal errors), each cut into its own lines.
    private var progress: LineRedactor
    private var fatal: LineRedactor
    private var passthrough = false
    /// Whether CGI headers are still to come, and the last bytes of them seen (to find `\r\n\r\n` or `\n\n`).
    private var inHeaders: Bool
    private var headerTail: [UInt8] = []

    public init(_ redactions: Redactions, afterHeaders: Bool = false) {
        progress = LineRedactor(redactions)
        fatal = LineRedactor(redactions)
        inHeaders = afterHeaders
    }

    /// Takes the next bytes of the stream; returns what can be sent on now.
    public mutating func feed(_ bytes: some Collection<UInt8>) -> [UInt8] {
        if passthrough { return Array(bytes) }
        var out: [UInt8] = []
        var rest = Array(bytes)
        if inHeaders {
            var index = 0
            while index < rest.count, inHeaders {
                headerTail.append(rest[index])
                if headerTail.count > 4 { headerTail.removeFirst() }
                index += 1
                if headerTail.suffix(2) == [0x0A, 0x0A] || headerTail == [0x0D, 0x0A, 0x0D, 0x0A] {
                    inHeaders = false
                }
            }
            out += rest[..<index]
            rest.removeFirst(index)
        }
        input.append(contentsOf: rest)
        var offset = 0
        while input.count - offset >= 4 {
            guard let length = Self.hexLength(input[offset..<offset + 4]) else {
                passthrough = true
                break
            }
            if length < 4 {
                // flush, delim, response-end: a message in progress is sent before them, as git sent it.
                guard length <= 2 else {
                    passthrough = true
                    break
                }
                out += flushLines()
                out += input[offset..<offset + 4]
                offset += 4
                continue
            }
            guard input.count - offset >= length else { break }
            let payload = input[offset + 4..<offset + length]
            if let band = payload.first, band == 2 || band == 3 {
                let text = band == 2 ? progress.feed(payload.dropFirst()) : fatal.feed(payload.dropFirst())
                out += Self.packets(band: band, text)
            } else {
                out += flushLines()
                out += input[offset..<offset + length]
            }
            offset += length
        }
        if passthrough {
            out += flushLines()
            out += input[offset...]
            input = []
        } else {
            input.removeFirst(offset)
        }
        return out
    }

    /// Everything still held: unfinished messages (redacted) and an incomplete packet (as it is).
    public mutating func finish() -> [UInt8] {
        let out = flushLines() + input
        input = []
        return out
    }

    private mutating func flushLines() -> [UInt8] {
        var out: [UInt8] = []
        if progress.isHolding { out += Self.packets(band: 2, progress.finish()) }
        if fatal.isHolding { out += Self.packets(band: 3, fatal.finish()) }
        return out
    }

    /// `text` on `band`, in as many packets as it needs.
    static func packets(band: UInt8, _ text: [UInt8]) -> [UInt8] {
        var out: [UInt8] = []
        var start = 0
        while start < text.count {
            let end = min(text.count, start + maxPayload - 1)
            let length = 4 + 1 + (end - start)
            out += [12, 8, 4, 0].map { hexDigits[(length >> $0) & 0xF] }
            out.append(band)
            out += text[start..<end]
            start = end
        }
        return out
    }

    private static let hexDigits = Array("0123456789abcdef".utf8)

    static func hexLength(_ header: ArraySlice<UInt8>) -> Int? {
        var value = 0
        for byte in header {
            let digit: Int
            switch byte {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = Int(byte - UInt8(ascii: "0"))
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = Int(byte - UInt8(ascii: "a")) + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = Int(byte - UInt8(ascii: "A")) + 10
            default: return nil
            }
            value = value * 16 + digit
        }
        return value
    }
}
