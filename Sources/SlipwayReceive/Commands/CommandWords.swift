import Foundation
import SlipwayDoorRecords
import SlipwaySystem

/// Splits a management command (`SSH_ORIGINAL_COMMAND` that is not a git command) into words, with the quoting rules
/// of a POSIX shell, but without running one: nothing is expanded, substituted or executed.
///
/// A pure function, tested table-style. The rules, as `sh` applies them to one simple command:
/// - Spaces, tabs and newlines outside quotes separate words. Several in a row count as one.
/// - `'…'` keeps every byte between the quotes as it is (`$`, `\`, `"` and newlines included).
/// - `"…"` keeps every byte too, except that a backslash before `$`, `` ` ``, `"`, `\` or a newline escapes it
///   (a backslash-newline disappears); before anything else the backslash stays.
/// - Outside quotes a backslash makes the next byte literal; a backslash-newline disappears.
/// - Quoted and unquoted pieces next to each other make one word: `A='x y'z` is `A=x yz`; `''` is an empty word.
/// - `$`, `` ` ``, `;`, `|`, `&`, `<`, `>`, `*`, `~` and the rest of the shell's syntax are plain characters: no
///   variable is expanded, no second command runs. `config:set app 'A=$HOME'` stores the five characters `$HOME`.
///
/// Refused, each with one line that says what to fix: an unclosed quote, a trailing backslash, NUL, and commands
/// longer than ``maximumLength``.
public enum CommandWords {
    /// The longest command accepted (config values such as certificates make commands long; the kernel limits one
    /// environment variable to 128 KiB anyway).
    public static let maximumLength = 128 * 1024

    /// The words of `command`, in order.
    public static func split(_ command: String) throws -> [String] {
        let bytes = Array(command.utf8)
        guard bytes.count <= maximumLength else {
            throw DoorError(
                .malformedCommand,
                "slipway: the command is \(bytes.count) bytes long; the limit is \(maximumLength): "
                    + "set long values in several commands")
        }
        guard !bytes.contains(0) else {
            throw DoorError(.malformedCommand, "slipway: the command contains a NUL byte, which no argument can hold")
        }
        var words: [String] = []
        var word: [UInt8] = []
        var inWord = false
        var index = 0

        func finishWord() {
            if inWord {
                // Splitting only ever happens at ASCII bytes, so a word of valid UTF-8 input is valid UTF-8.
                words.append(String(decoding: word, as: UTF8.self))
            }
            word.removeAll()
            inWord = false
        }

        while index < bytes.count {
            let byte = bytes[index]
            switch byte {
            case space, tab, newline:
                finishWord()
                index += 1
            case singleQuote:
                guard let close = bytes[(index + 1)...].firstIndex(of: singleQuote) else {
                    throw unclosed("'", at: index, in: bytes)
                }
                word += bytes[(index + 1)..<close]
                inWord = true
                index = close + 1
            case doubleQuote:
                let opening = index
                inWord = true
                index += 1
                var closed = false
                while index < bytes.count {
                    let inner = bytes[index]
                    if inner == doubleQuote {
                        closed = true
                        index += 1
                        break
                    }
                    if inner == backslash, index + 1 < bytes.count, escapableInDoubleQuotes.contains(bytes[index + 1]) {
                        if bytes[index + 1] != newline { word.append(bytes[index + 1]) }
                        index += 2
                        continue
                    }
                    word.append(inner)
                    index += 1
                }
                guard closed else { throw unclosed("\"", at: opening, in: bytes) }
            case backslash:
                guard index + 1 < bytes.count else {
                    throw DoorError(
                        .malformedCommand,
                        "slipway: the command ends with a backslash: quote the value, or remove the backslash")
                }
                if bytes[index + 1] != newline {
                    word.append(bytes[index + 1])
                    inWord = true
                }
                index += 2
            default:
                word.append(byte)
                inWord = true
                index += 1
            }
        }
        finishWord()
        return words
    }

    /// `text` quoted for a POSIX shell so that ``split(_:)`` (and `sh`) give it back unchanged: `'…'`, with each `'`
    /// written `'\''`. Words of only safe characters stay bare.
    public static func quote(_ text: String) -> String {
        if !text.isEmpty, text.utf8.allSatisfy(isSafeBare) { return text }
        return "'" + text.replacingOccurrences(of: "'", with: "'\\''") + "'"
    }

    private static let space = UInt8(ascii: " ")
    private static let tab = UInt8(ascii: "\t")
    private static let newline = UInt8(ascii: "\n")
    private static let singleQuote = UInt8(ascii: "'")
    private static let doubleQuote = UInt8(ascii: "\"")
    private static let backslash = UInt8(ascii: "\\")
    private static let escapableInDoubleQuotes: Set<UInt8> = Set("$`\"\\\n".utf8)

    private static func isSafeBare(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
            UInt8(ascii: "0")...UInt8(ascii: "9"):
            true
        default:
            "_-.,:/@%+=".utf8.contains(byte)
        }
    }

    private static func unclosed(_ quote: String, at offset: Int, in bytes: [UInt8]) -> DoorError {
        let context = String(decoding: bytes[offset...].prefix(24), as: UTF8.self)
        return DoorError(
            .malformedCommand,
            "slipway: the command has an unclosed \(quote) quote (at \(TerminalText.printable(context, limit: 24))): "
                + "close it; for a value with quotes inside, quote it with the other kind")
    }
}
