import Foundation

/// Config var names and the dotenv format used by `--env-file`.
public enum ConfigVars {
    /// Whether `key` is a valid config var name: `[A-Za-z_][A-Za-z0-9_]*`.
    public static func isValidKey(_ key: String) -> Bool {
        guard let first = key.utf8.first else { return false }
        func isLetter(_ c: UInt8) -> Bool { (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c == 95 }
        return isLetter(first) && key.utf8.allSatisfy { isLetter($0) || ($0 >= 48 && $0 <= 57) }
    }

    /// Parses one `KEY=VALUE` assignment as given to `-e`. The value may contain anything but NUL, `=` included.
    public static func parseAssignment(_ text: String) throws -> (String, String) {
        guard let eq = text.firstIndex(of: "=") else {
            throw BuildError(
                .configInvalid, "Config var '\(text)' has no value.", hint: "Write it as KEY=VALUE.")
        }
        let key = String(text[..<eq])
        let value = String(text[text.index(after: eq)...])
        try validate(key: key, value: value)
        return (key, value)
    }

    static func validate(key: String, value: String, line: Int? = nil) throws {
        let place = line.map { " on line \($0)" } ?? ""
        guard isValidKey(key) else {
            throw BuildError(
                .configInvalid, "Config var name '\(key)'\(place) is not valid.",
                hint: "Names use letters, digits and underscores, and do not start with a digit.")
        }
        guard !value.contains("\0") else {
            throw BuildError(.configInvalid, "Config var \(key)\(place) contains a NUL byte, which cannot be stored.")
        }
    }

    /// Parses a dotenv file: `KEY=VALUE` lines, an optional `export ` prefix, `#` comments and blank lines.
    ///
    /// Values may be unquoted (trailing spaces and an inline ` #comment` removed), single-quoted (taken literally),
    /// or double-quoted (with `\n`, `\t`, `\"`, `\\` and `\$` escapes, and able to span lines).
    public static func parseDotEnv(_ text: String, fileName: String = ".env") throws -> [(String, String)] {
        var result: [(String, String)] = []
        let lines = text.lineFeedSeparatedLines()
        var index = 0
        while index < lines.count {
            let lineNumber = index + 1
            var line = lines[index].trimmingCharacters(in: .whitespaces)
            index += 1
            if line.isEmpty || line.hasPrefix("#") { continue }
            if line.hasPrefix("export ") { line = String(line.dropFirst(7)).trimmingCharacters(in: .whitespaces) }
            guard let eq = line.firstIndex(of: "=") else {
                throw BuildError(
                    .configInvalid, "\(fileName) line \(lineNumber) is not KEY=VALUE: \(line)",
                    hint: "Fix or remove that line.")
            }
            let key = String(line[..<eq]).trimmingCharacters(in: .whitespaces)
            var rest = String(line[line.index(after: eq)...]).trimmingCharacters(in: .whitespaces)
            var value: String
            if rest.hasPrefix("'") {
                rest.removeFirst()
                guard let close = rest.firstIndex(of: "'") else {
                    throw BuildError(
                        .configInvalid, "\(fileName) line \(lineNumber): the single quote is never closed.")
                }
                value = String(rest[..<close])
            } else if rest.hasPrefix("\"") {
                rest.removeFirst()
                var collected = ""
                var closed = false
                while true {
                    var escaped = false
                    for ch in rest {
                        if escaped {
                            switch ch {
                            case "n": collected.append("\n")
                            case "t": collected.append("\t")
                            case "r": collected.append("\r")
                            default: collected.append(ch)
                            }
                            escaped = false
                        } else if ch == "\\" {
                            escaped = true
                        } else if ch == "\"" {
                            closed = true
                            break
                        } else {
                            collected.append(ch)
                        }
                    }
                    if closed || index >= lines.count { break }
                    collected.append("\n")
                    rest = lines[index]
                    index += 1
                }
                guard closed else {
                    throw BuildError(
                        .configInvalid, "\(fileName) line \(lineNumber): the double quote is never closed.")
                }
                value = collected
            } else {
                if let hash = rest.range(of: " #") { rest = String(rest[..<hash.lowerBound]) }
                value = rest.trimmingCharacters(in: .whitespaces)
            }
            try validate(key: key, value: value, line: lineNumber)
            result.append((key, value))
        }
        return result
    }
}
