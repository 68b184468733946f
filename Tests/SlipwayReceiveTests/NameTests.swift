import SlipwayReceive
import SlipwaySpool
import Testing

@testable import SlipwayDoorRecords

@Suite struct NameTests {
    @Test(arguments: ["ab", "myapp", "my-app", "app2", "a-", "a--b", "a1", "z" + String(repeating: "9", count: 29)])
    func validAppNames(_ name: String) throws {
        try AppName.validate(name)
    }

    /// Names that follow the rule but name the server's own folders.
    @Test(arguments: ["spool", "tmp", "apps", "logs", "cache", "slugs", "run", "runner"])
    func reservedAppNames(_ name: String) {
        let error = #expect(throws: DoorError.self) { try AppName.validate(name) }
        #expect(error?.code == .invalidName)
        #expect(
            error?.message
                == "slipway: '\(name)' is reserved: it names one of the server's own folders; choose another name")
    }

    @Test(arguments: [
        "", "a", "1app", "-app", "App", "myApp", "my_app", "my.app", "my app", "my/app", "..", ".git", "app.git",
        "аpp",  // Cyrillic а
        "ａpp",  // fullwidth a
        "cafe\u{301}", "app\n", "app\0", " app", "app ", "a" + String(repeating: "b", count: 30),
    ])
    func invalidAppNames(_ name: String) {
        let error = #expect(throws: DoorError.self) { try AppName.validate(name) }
        #expect(error?.code == .invalidName)
        #expect(error?.message.hasPrefix("slipway: '") == true)
        #expect(
            error?.message.hasSuffix(
                "' is not a valid app name: use 2 to 30 lowercase letters, digits and dashes, starting with a letter")
                == true)
    }

    @Test(arguments: ["a", "alice", "bob_smith", "ci-bot", "u2", "a" + String(repeating: "_", count: 31)])
    func validUserNames(_ name: String) throws {
        try UserName.validate(name)
    }

    @Test(arguments: [
        "", "Alice", "1alice", "_alice", "-alice", "al ice", "al.ice", "alice@host", "alice\n", "аlice",
        "a" + String(repeating: "b", count: 32), "root;id", "--user",
    ])
    func invalidUserNames(_ name: String) {
        let error = #expect(throws: DoorError.self) { try UserName.validate(name) }
        #expect(error?.code == .invalidName)
        #expect(error?.message.contains("is not a valid user name: use 1 to 32") == true)
    }

    @Test func messagesEscapeControlCharacters() {
        #expect(throws: DoorError(.invalidName, "slipway: 'a\\u{a}b' is not a valid user name: \(UserName.rule)")) {
            try UserName.validate("a\nb")
        }
    }
}
