/// A parsed `Procfile`: process type names and their commands, in file order.
public struct Procfile: Equatable, Sendable {
    /// `(name, command)` pairs in the order the file declares them.
    public var entries: [(name: String, command: String)]

    public static func == (a: Procfile, b: Procfile) -> Bool {
        a.entries.map(\.name) == b.entries.map(\.name) && a.entries.map(\.command) == b.entries.map(\.command)
    }

    /// The process types as a dictionary.
    public var processTypes: [String: String] {
        Dictionary(entries.map { ($0.name, $0.command) }, uniquingKeysWith: { _, last in last })
    }

    /// Parses Procfile text: one `name: command` a line, names `[A-Za-z0-9_-]+`; blank lines and `#` comments skipped.
    ///
    /// A malformed line or a name declared twice throws a ``BuildError`` naming the line number.
    public init(parsing text: String) throws {
        entries = []
        var seen = Set<String>()
        for (offset, rawLine) in text.lineFeedSeparatedLines().enumerated() {
            let lineNumber = offset + 1
            let trimmed = Substring(rawLine).drop(while: { $0 == " " || $0 == "\t" })
            if trimmed.isEmpty || trimmed.hasPrefix("#") { continue }
            guard let colon = trimmed.firstIndex(of: ":") else {
                throw Self.malformed(lineNumber, "expected 'name: command'")
            }
            let name = String(trimmed[..<colon])
            let command = trimmed[trimmed.index(after: colon)...].trimmingSpaces()
            guard !name.isEmpty, name.utf8.allSatisfy(Self.isNameByte) else {
                throw Self.malformed(lineNumber, "process type names use only letters, digits, '_' and '-'")
            }
            guard !command.isEmpty else { throw Self.malformed(lineNumber, "process type '\(name)' has no command") }
            guard seen.insert(name).inserted else {
                throw Self.malformed(lineNumber, "process type '\(name)' is declared twice")
            }
            entries.append((name, command))
        }
    }

    static func isNameByte(_ c: UInt8) -> Bool {
        (c >= 48 && c <= 57) || (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 || c == 45
    }

    static func malformed(_ line: Int, _ why: String) -> BuildError {
        BuildError(
            .procfileInvalid, "Procfile line \(line) is malformed: \(why).", hint: "Fix the Procfile and push again.")
    }
}

extension String {
    /// The lines of a text file: split at each line feed only (a Unicode line separator inside a value or command
    /// stays part of it), with a carriage return before the line feed removed (CRLF files).
    func lineFeedSeparatedLines() -> [String] {
        unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map { scalars in
            var line = String.UnicodeScalarView(scalars)
            if line.last == "\r" { line.removeLast() }
            return String(line)
        }
    }
}

extension Substring {
    func trimmingSpaces() -> String {
        var s = self
        while let f = s.first, f == " " || f == "\t" { s.removeFirst() }
        while let l = s.last, l == " " || l == "\t" { s.removeLast() }
        return String(s)
    }
}
