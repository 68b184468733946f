import Foundation
import PropertyBased
import SlipwayReceive
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// The SSH command parser against generated hostile input: it never crashes, and whatever it accepts is exactly one
/// of the forms it documents. `SLIPWAY_FUZZ_COUNT` sets the number of cases (default 2000; the README's fuzzing
/// command runs far more).
@Suite struct SSHCommandPropertyTests {
    static let count = Int(ProcessInfo.processInfo.environment["SLIPWAY_FUZZ_COUNT"] ?? "") ?? 2000
    static let words = [
        "git-receive-pack", "git-upload-pack", "git-upload-archive", "git-receive-pack ", "git-upload-pack '",
    ]

    @Test func acceptsOnlyTheDocumentedForms() async {
        // Free-form text, and near-misses: a real service and quoting around a hostile name.
        let nearMiss = hostileText(["app", "myapp", "my-app", ".git"], fragments: 0...5).map { name in
            let shapes = ["git-receive-pack '\(name)'", "git-upload-pack \(name)", "git-receive-pack '~/\(name).git'"]
            return shapes[abs(name.hashValue) % shapes.count]
        }
        await propertyCheck(
            count: Self.count,
            input: Gen.oneOf(hostileText(Self.words).eraseToAnySequence(), nearMiss.eraseToAnySequence())
        ) { command in
            guard let request = try? SSHCommand.parse(command) else { return }
            #expect(
                Self.isValidAppName(request.app),
                "accepted app \(request.app.debugDescription) from \(command.debugDescription)")
            let forms = ["", "/", "~/"].flatMap { prefix in
                ["", ".git"].flatMap { suffix in
                    ["\(prefix)\(request.app)\(suffix)", "'\(prefix)\(request.app)\(suffix)'"]
                }
            }
            let words = command.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
            #expect(
                words.count == 2 && words[0] == request.service.rawValue && forms.contains(words[1]),
                "accepted \(command.debugDescription)")
        }
    }

    /// Every accepted request round-trips through the form git sends.
    @Test func gitsOwnFormRoundTrips() async {
        let name = Gen<Character?>.element(of: Array("abcdefghijklmnopqrstuvwxyz0123456789-")).map { $0 ?? "a" }
            .array(of: 1...29).map { "a" + String($0) }
        await propertyCheck(count: Self.count, input: name) { app in
            for service in ["git-receive-pack", "git-upload-pack"] {
                let request = try? SSHCommand.parse("\(service) '\(app)'")
                #expect(request?.app == app && request?.service.rawValue == service)
            }
        }
    }

    static func isValidAppName(_ name: String) -> Bool {
        let bytes = Array(name.utf8)
        guard (2...30).contains(bytes.count), let first = bytes.first, (97...122).contains(first) else { return false }
        return bytes.allSatisfy { (97...122).contains($0) || (48...57).contains($0) || $0 == 45 }
    }
}

/// The word splitter of the management commands (`config:set myapp 'A=b c'`) against generated input: it never
/// crashes, never yields NUL, and ``CommandWords/quote(_:)`` is its exact inverse for any word list.
@Suite struct CommandWordsPropertyTests {
    @Test func splitNeverCrashesNorYieldsNUL() async {
        await propertyCheck(count: SSHCommandPropertyTests.count, input: hostileText(["config:set", "A=", "'", "\""])) {
            text in
            guard let words = try? CommandWords.split(text) else { return }
            #expect(!words.contains { $0.contains("\u{0}") })
        }
    }

    @Test func quoteIsTheInverseOfSplit() async {
        let word = hostileText(["A=b", "$HOME", "'", "\""], fragments: 0...8).map {
            String(String.UnicodeScalarView($0.unicodeScalars.filter { $0 != "\u{0}" }))
        }
        await propertyCheck(count: SSHCommandPropertyTests.count, input: word.array(of: 1...6)) { words in
            let line = words.map(CommandWords.quote).joined(separator: " ")
            #expect((try? CommandWords.split(line)) == words, "\(line.debugDescription)")
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
