import Foundation
import PropertyBased
import SlipwayTestSupport
import Testing
import Yams

@testable import SlugCompiler

/// The parsers of pusher-controlled files (Procfile, `.slugignore`, dotenv, the release YAML a buildpack prints)
/// against generated hostile input: they never crash, never hang, and what they accept round-trips.
/// `SLIPWAY_FUZZ_COUNT` sets the number of cases (default 1000); the README's fuzzing command runs far more.
@Suite struct ParserPropertyTests {
    static let count = Int(ProcessInfo.processInfo.environment["SLIPWAY_FUZZ_COUNT"] ?? "") ?? 1000

    // MARK: Procfile

    @Test func procfileAcceptsOnlyWellFormedEntries() async {
        await propertyCheck(count: Self.count, input: hostileText(["web", "worker", ": ", ":"])) { text in
            guard let procfile = try? Procfile(parsing: text) else { return }
            for entry in procfile.entries {
                #expect(!entry.name.isEmpty && entry.name.utf8.allSatisfy(Procfile.isNameByte))
                #expect(!entry.command.isEmpty && !entry.command.contains("\n"))
            }
        }
    }

    @Test func procfileRoundTrips() async {
        let name = Gen<Character?>.element(of: Array("abcXYZ019_-")).map { $0 ?? "a" }.array(of: 1...8).map {
            String($0)
        }
        let command = hostileText(["gunicorn", "$PORT", "--bind"], fragments: 1...10).map {
            // A command is one line (no line feed or carriage return), without leading or trailing blanks.
            var scalars = String.UnicodeScalarView($0.unicodeScalars.filter { $0 != "\n" && $0 != "\r" })
            while let first = scalars.first, first == " " || first == "\t" { scalars.removeFirst() }
            while let last = scalars.last, last == " " || last == "\t" { scalars.removeLast() }
            return String(scalars)
        }.filter { !$0.isEmpty }
        await propertyCheck(count: Self.count, input: name.array(of: 1...5), command.array(of: 5)) { names, commands in
            var unique: [String] = []
            for name in names where !unique.contains(name) { unique.append(name) }
            let text = zip(unique, commands).map { "\($0): \($1)" }.joined(separator: "\n") + "\n"
            let parsed = try? Procfile(parsing: text)
            #expect(parsed?.entries.map(\.name) == Array(unique.prefix(commands.count)), "\(text.debugDescription)")
            #expect(parsed?.entries.map(\.command) == Array(commands.prefix(unique.count)), "\(text.debugDescription)")
        }
    }

    // MARK: .slugignore

    /// Never hangs: patterns with many stars against long names finish at once (a backtracking matcher would take
    /// exponential time, and `.slugignore` is pushed by strangers).
    @Test func slugignoreMatchingIsBoundedAndTotal() async {
        let pattern = hostileText(["*", "**", "*a", "a*", "?", "[a-z]", "[!a]", "\\*"], fragments: 0...16)
        let path = hostileText(["a", "aaaa", "b/", "/"], fragments: 0...30)
        await propertyCheck(count: Self.count, input: pattern.array(of: 1...4), path) { patterns, path in
            let ignore = SlugIgnore(parsing: patterns.joined(separator: "\n"))
            _ = ignore.ignores(path, isDirectory: false)
            _ = ignore.ignores(path, isDirectory: true)
        }
        let start = ContinuousClock.now
        let nasty = SlugIgnore(
            parsing: String(repeating: "*a", count: 40) + "b\n" + String(repeating: "**/", count: 30) + "x")
        #expect(!nasty.ignores(String(repeating: "a", count: 200), isDirectory: false))
        #expect(!nasty.ignores(String(repeating: "a/", count: 100) + "y", isDirectory: false))
        #expect(ContinuousClock.now - start < .seconds(5), "matching must not backtrack without end")
    }

    /// A pattern without glob characters or slashes matches exactly the entries with that name, at any depth.
    @Test func literalNamesMatchAtAnyDepth() async {
        let segment = Gen<Character?>.element(of: Array("abc.-_")).map { $0 ?? "a" }.array(of: 1...6).map { String($0) }
            .filter { $0 != "." && $0 != ".." && !$0.hasPrefix("#") }
        await propertyCheck(count: Self.count, input: segment, segment.array(of: 1...5)) { name, components in
            let ignore = SlugIgnore(parsing: name)
            let path = components.joined(separator: "/")
            #expect(ignore.ignores(path, isDirectory: false) == (components.last == name), "\(name) vs \(path)")
        }
    }

    // MARK: dotenv

    @Test func dotenvNeverCrashes() async {
        await propertyCheck(count: Self.count, input: hostileText(["KEY=", "export ", "A=", "'", "\""])) { text in
            guard let pairs = try? ConfigVars.parseDotEnv(text) else { return }
            for (key, value) in pairs {
                #expect(ConfigVars.isValidKey(key))
                #expect(!value.contains("\u{0}"))
            }
        }
    }

    /// Any value (but NUL) written double-quoted with the documented escapes reads back byte for byte.
    @Test func dotenvRoundTrips() async {
        let key = Gen<Character?>.element(of: Array("ABCXYZ_019")).map { $0 ?? "A" }.array(of: 1...10)
            .map { "K" + String($0) }
        let value = hostileText(["value", "#", " #", "'", "\""]).map { $0.replacingOccurrences(of: "\u{0}", with: "") }
        await propertyCheck(count: Self.count, input: key, value) { key, value in
            var escaped = ""
            for character in value {
                switch character {
                case "\\": escaped += "\\\\"
                case "\"": escaped += "\\\""
                case "\n": escaped += "\\n"
                case "\r": escaped += "\\r"
                case "\r\n": escaped += "\\r\\n"
                case "\t": escaped += "\\t"
                default: escaped.append(character)
                }
            }
            let parsed = try? ConfigVars.parseDotEnv("\(key)=\"\(escaped)\"\n")
            #expect(parsed?.first?.0 == key && parsed?.first?.1 == value, "\(value.debugDescription)")
        }
    }

    // MARK: release YAML

    @Test func releaseYAMLNeverCrashes() async {
        let yaml = hostileText([
            "---\n", "config_vars:", "default_process_types:", "addons:", " - ", "\n  ", "{", "}", "&a", "*a", "!!str",
            "<<:",
        ])
        await propertyCheck(count: Self.count, input: yaml) { text in
            _ = try? ReleaseInfo(yaml: text, buildpack: "fuzz")
        }
    }

    /// Process types and config vars with any text round-trip through YAML as a buildpack would print it.
    @Test func releaseYAMLRoundTrips() async {
        let word = Gen<Character?>.element(of: Array("abcXYZ019_")).map { $0 ?? "a" }.array(of: 1...8).map {
            String($0)
        }
        // Without NUL (YAML cannot carry it) and U+FEFF (a byte order mark, which YAML readers drop wherever it
        // stands: Yams writes it unquoted, so it cannot round-trip).
        let text = hostileText(["web: x", "- a", "&anchor", "# not a comment"]).map {
            String(String.UnicodeScalarView($0.unicodeScalars.filter { $0 != "\u{0}" && $0 != "\u{FEFF}" }))
        }
        await propertyCheck(count: Self.count, input: word.array(of: 0...4), text.array(of: 4)) { names, values in
            let types = Dictionary(zip(names, values), uniquingKeysWith: { a, _ in a })
            let document: [String: Any] = ["default_process_types": types, "config_vars": types, "addons": values]
            guard let yaml = try? Yams.dump(object: document) else { return }
            let info = try? ReleaseInfo(yaml: yaml, buildpack: "fuzz")
            #expect(info?.defaultProcessTypes == types, "\(yaml)")
            #expect(info?.configVars == types)
            #expect(info?.addons == values)
        }
    }
}

/// Property-test inputs that look like what an attacker sends: ``hostileFragments`` glued together, with the words
/// the parser under test cares about (`extra`) mixed in.
func hostileText(_ extra: [String] = [], fragments length: ClosedRange<Int> = 0...24)
    -> Generator<String, some Sequence & SendableMetatype>
{
    Gen<String?>.element(of: hostileFragments + extra).map { $0 ?? "" }.array(of: length).map { $0.joined() }
}
