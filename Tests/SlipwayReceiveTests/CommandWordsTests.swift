import SlipwayReceive
import Testing

@testable import SlipwayDoorRecords

/// The management commands' word splitter, table-style: a shell's quoting rules, without a shell.
@Suite struct CommandWordsTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var command: String
        var words: [String]
        var testDescription: String { command.debugDescription }
    }

    static let split: [Row] = [
        .init(command: "apps", words: ["apps"]),
        .init(command: "config:set myapp A=1", words: ["config:set", "myapp", "A=1"]),
        .init(command: "  config \t myapp  ", words: ["config", "myapp"]),
        .init(command: "config myapp\n--json", words: ["config", "myapp", "--json"]),
        .init(command: "", words: []),
        .init(command: " \t\n ", words: []),
        // Single quotes keep everything.
        .init(command: "config:set app 'A=hello world'", words: ["config:set", "app", "A=hello world"]),
        .init(
            command: "config:set app 'A=$HOME `id` $(id) \\n \"x\"'",
            words: ["config:set", "app", "A=$HOME `id` $(id) \\n \"x\""]),
        .init(command: "config:set app 'A=two\nlines'", words: ["config:set", "app", "A=two\nlines"]),
        .init(command: "config:set app ''", words: ["config:set", "app", ""]),
        .init(command: "config:set app A=''", words: ["config:set", "app", "A="]),
        // Double quotes: backslash escapes only $ ` " \ and newline.
        .init(command: "config:set app \"A=hello world\"", words: ["config:set", "app", "A=hello world"]),
        .init(
            command: "config:set app \"A=\\$HOME \\\"x\\\" \\\\ \\`\"",
            words: ["config:set", "app", "A=$HOME \"x\" \\ `"]),
        .init(command: "config:set app \"A=\\n\\t\\x\"", words: ["config:set", "app", "A=\\n\\t\\x"]),
        .init(command: "config:set app \"A=$HOME\"", words: ["config:set", "app", "A=$HOME"]),
        .init(command: "config:set app \"A=it's\"", words: ["config:set", "app", "A=it's"]),
        .init(command: "config:set app \"A=b\\\nc\"", words: ["config:set", "app", "A=bc"]),
        .init(command: "config:set app \"\"", words: ["config:set", "app", ""]),
        // Unquoted backslash makes the next byte literal; backslash-newline disappears.
        .init(command: "config:set app A=hello\\ world", words: ["config:set", "app", "A=hello world"]),
        .init(command: "config:set app A=\\'\\\"\\\\", words: ["config:set", "app", "A='\"\\"]),
        .init(command: "config:set app \\\nA=1", words: ["config:set", "app", "A=1"]),
        // Pieces next to each other make one word.
        .init(command: "config:set app A='x y'z\"w v\"", words: ["config:set", "app", "A=x yzw v"]),
        .init(command: "config:set app 'it'\\''s'", words: ["config:set", "app", "it's"]),
        // Shell syntax is plain text: nothing runs, nothing expands.
        .init(command: "config app; rm -rf /", words: ["config", "app;", "rm", "-rf", "/"]),
        .init(
            command: "config $HOME `id` a|b a&&b >x <y *",
            words: ["config", "$HOME", "`id`", "a|b", "a&&b", ">x", "<y", "*"]),
        .init(command: "config ~ ~root", words: ["config", "~", "~root"]),
        // Unicode and other bytes pass unchanged.
        .init(command: "config:set app 'A=héllo ✓ 🚀'", words: ["config:set", "app", "A=héllo ✓ 🚀"]),
        .init(command: "config:set app A=\u{1B}[31m\r", words: ["config:set", "app", "A=\u{1B}[31m\r"]),
    ]

    @Test(arguments: split)
    func splits(_ row: Row) throws {
        #expect(try CommandWords.split(row.command) == row.words)
    }

    struct Refused: Sendable, CustomTestStringConvertible {
        var command: String
        var message: String
        var testDescription: String { command.debugDescription }
    }

    static let refused: [Refused] = [
        .init(command: "config:set app 'A=1", message: "slipway: the command has an unclosed ' quote (at 'A=1)"),
        .init(command: "config:set app \"A=1", message: "slipway: the command has an unclosed \" quote (at \"A=1)"),
        .init(command: "config:set app \"A=\\\"", message: "unclosed \" quote"),
        .init(command: "config:set app A='x'y'", message: "unclosed ' quote"),
        .init(command: "config:set app A=1\\", message: "slipway: the command ends with a backslash"),
        .init(command: "config:set app A=\0", message: "slipway: the command contains a NUL byte"),
        .init(command: "config:set app 'A=\0'", message: "NUL byte"),
        .init(
            command: "config:set app A=" + String(repeating: "x", count: CommandWords.maximumLength),
            message: "the limit is 131072"),
    ]

    @Test(arguments: refused)
    func refuses(_ row: Refused) throws {
        let error = #expect(throws: DoorError.self) { try CommandWords.split(row.command) }
        #expect(error?.code == .malformedCommand)
        #expect(error?.message.contains(row.message) == true, "\(error?.message ?? "")")
        #expect(error?.message.contains("\n") == false)
    }

    static let quoted: [String] = [
        "plain", "", "hello world", "it's", "'", "''", "$HOME", "`id`", "a\nb", "\\", "\"x\"", "tab\there", "✓ 🚀",
        "~", "-n", "a=b", "x'y'z", "\u{1B}[0m",
    ]

    /// What `quote` writes, `split` reads back unchanged.
    @Test(arguments: quoted)
    func quoteRoundTrips(_ text: String) throws {
        #expect(try CommandWords.split("x " + CommandWords.quote(text)) == ["x", text])
    }
}
