import Testing

@testable import SlipwayAddons

/// The names users give add-on commands reach file names, SQL identifiers and config vars: only the rules' names
/// get through (issue 24, "Bad input").
@Suite struct AddonNamesTests {
    @Test func addonNamesFollowTheRule() {
        for good in ["postgresql-sunny-40213", "abc", "a1-b2", String(repeating: "a", count: 40)] {
            #expect(AddonNames.isValid(good), "\(good)")
        }
        let bad = [
            "", "ab", "1abc", "-abc", "abc-", "ABC", "a_b", "a b", "a;b", "../x", "a/b", "a'b", "a\u{0}b", "é-abc",
            String(repeating: "a", count: 41),
        ]
        for name in bad { #expect(!AddonNames.isValid(name), "\(name)") }
    }

    @Test func attachmentNamesFollowTheConfigVarRule() throws {
        #expect(try AddonNames.attachment("REPORTING") == "REPORTING")
        #expect(try AddonNames.attachment("REPORTING_URL") == "REPORTING")
        #expect(try AddonNames.attachment("DB2") == "DB2")
        for bad in ["", "reporting", "2DB", "_X", "A-B", "A B", "A=B", "A\nB", String(repeating: "A", count: 41)] {
            #expect(throws: AddonError.self, "\(bad)") { try AddonNames.attachment(bad) }
        }
    }

    @Test func kindsAreHerokusWordsOnly() throws {
        #expect(try AddonKind.named("postgresql") == .postgresql)
        #expect(try AddonKind.named("heroku-postgresql") == .postgresql)
        #expect(try AddonKind.named("redis") == .redis)
        #expect(try AddonKind.named("Redis") == .redis)
        let error = #expect(throws: AddonError.self) { try AddonKind.named("mysql\u{1b}[31m") }
        #expect(error?.message == "'mysql?[31m' is not a kind of add-on: use postgresql or redis")
        #expect(AddonKind.postgresql.defaultAttachment == "DATABASE")
        #expect(AddonKind.redis.defaultAttachment == "REDIS")
    }

    @Test func sqlIdentifiersAreSafeUnquoted() {
        #expect(AddonNames.sqlIdentifier("postgresql-sunny-40213") == "addon_postgresql_sunny_40213")
        #expect(PostgresStatements.isSafe(AddonNames.sqlIdentifier(String(repeating: "a", count: 40))))
        #expect(AddonNames.sqlIdentifier(String(repeating: "a", count: 40)).count <= 63)
        #expect(!PostgresStatements.isSafe("a'b"))
        #expect(!PostgresStatements.isSafe(""))
    }

    @Test func passwordsAreLongAndHex() {
        let first = AddonCredentials.randomPassword()
        #expect(first.count == 32)
        #expect(PostgresStatements.isSafe(first))
        #expect(first != AddonCredentials.randomPassword())
    }
}
