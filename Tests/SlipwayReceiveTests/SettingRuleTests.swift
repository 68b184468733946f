import SlipwayReceive
import Testing

@testable import SlipwayDoorRecords

/// The rules for what management commands accept: config var names, branch names, build dirs.
@Suite struct SettingRuleTests {
    @Test(arguments: ["A", "GREETING", "_", "_x", "a", "DATABASE_URL", "X1", "Ab_9"])
    func validConfigKeys(_ key: String) throws {
        try ConfigKey.validate(key)
    }

    @Test(arguments: [
        "", "1A", "MY-KEY", "A B", "A=B", "A.B", "ÄPFEL", "A\n", "A\0", "$A", String(repeating: "A", count: 257),
    ])
    func invalidConfigKeys(_ key: String) {
        let error = #expect(throws: DoorError.self) { try ConfigKey.validate(key) }
        #expect(error?.code == .invalidValue)
        #expect(
            error?.message.hasSuffix(
                "is not a valid config var name: use letters, digits and underscores, not starting with a digit")
                == true)
    }

    @Test(arguments: ["main", "master", "develop", "release/2.0", "feature/a-b_c", "v1.2", "ünïcode"])
    func validBranches(_ name: String) throws {
        try BranchName.validate(name)
    }

    @Test(arguments: [
        "", "-main", "a..b", "a b", "a~b", "a^b", "a:b", "a?b", "a*b", "a[b", "a\\b", "/a", "a/", "a//b", "a.",
        ".hidden", "a/.b", "x.lock", "a/x.lock/b", "@", "a@{b", "a\nb", "a\u{7f}",
    ])
    func invalidBranches(_ name: String) {
        let error = #expect(throws: DoorError.self) { try BranchName.validate(name) }
        #expect(error?.code == .invalidValue)
        #expect(error?.message.contains("is not a valid branch name") == true)
    }

    struct Dir: Sendable, CustomTestStringConvertible {
        var input: String
        var normalized: String?
        var testDescription: String { input.debugDescription }
    }

    static let dirs: [Dir] = [
        .init(input: "services/api", normalized: "services/api"),
        .init(input: "services/api/", normalized: "services/api"),
        .init(input: "./services//api/.", normalized: "services/api"),
        .init(input: "api", normalized: "api"),
        .init(input: "my app/ü", normalized: "my app/ü"),
        .init(input: "", normalized: nil),
        .init(input: ".", normalized: nil),
        .init(input: "./", normalized: nil),
        .init(input: "a..b", normalized: "a..b"),
    ]

    @Test(arguments: dirs)
    func buildDirs(_ row: Dir) throws {
        #expect(try BuildDirectory.normalize(row.input) == row.normalized)
    }

    @Test(arguments: ["/srv/app", "/", "..", "../x", "a/../b", "a/..", "a\nb", "a\tb"])
    func invalidBuildDirs(_ input: String) {
        let error = #expect(throws: DoorError.self) { try BuildDirectory.normalize(input) }
        #expect(error?.code == .invalidValue)
        #expect(error?.message.contains("cannot be a build dir") == true)
    }
}
