import Testing

@testable import SlugCompiler

@Suite struct ProcfileTests {
    @Test func parsesEntriesInOrderSkippingCommentsAndBlankLines() throws {
        let procfile = try Procfile(
            parsing: """
                # processes
                web: gunicorn app:application --bind 0.0.0.0:$PORT

                worker:python worker.py   \r
                release-task_1: ./migrate
                """)
        #expect(procfile.entries.map(\.name) == ["web", "worker", "release-task_1"])
        #expect(procfile.processTypes["web"] == "gunicorn app:application --bind 0.0.0.0:$PORT")
        #expect(procfile.processTypes["worker"] == "python worker.py")
    }

    @Test(arguments: [
        ("web gunicorn", 1, "expected 'name: command'"),
        ("web: ok\nbad name: x", 2, "letters, digits"),
        ("web:", 1, "has no command"),
        ("web: a\n\nweb: b", 3, "declared twice"),
        ("we.b: x", 1, "letters"),
    ])
    func reportsTheLineOfAMalformedEntry(text: String, line: Int, fragment: String) {
        #expect {
            try Procfile(parsing: text)
        } throws: { error in
            guard let error = error as? BuildError else { return false }
            return error.code == .procfileInvalid && error.message.contains("line \(line)")
                && error.message.contains(fragment)
        }
    }

    @Test func commandKeepsColonsAndSpacesInside() throws {
        let procfile = try Procfile(parsing: "web: echo 'a: b'  ")
        #expect(procfile.processTypes["web"] == "echo 'a: b'")
    }
}
