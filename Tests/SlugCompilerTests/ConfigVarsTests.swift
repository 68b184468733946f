import Testing

@testable import SlugCompiler

@Suite struct ConfigVarsTests {
    @Test(arguments: [
        ("A", true), ("_x1", true), ("DATABASE_URL", true), ("1A", false), ("A-B", false), ("", false), ("Ä", false),
    ])
    func keyRule(key: String, valid: Bool) {
        #expect(ConfigVars.isValidKey(key) == valid)
    }

    @Test func assignmentKeepsEverythingAfterTheFirstEquals() throws {
        let (key, value) = try ConfigVars.parseAssignment("URL=postgres://u:p@h/db?a=b")
        #expect(key == "URL")
        #expect(value == "postgres://u:p@h/db?a=b")
        #expect(throws: BuildError.self) { try ConfigVars.parseAssignment("NOVALUE") }
        #expect(throws: BuildError.self) { try ConfigVars.parseAssignment("1BAD=x") }
    }

    @Test func dotEnvFormats() throws {
        let parsed = try ConfigVars.parseDotEnv(
            """
            # comment
            PLAIN=hello world # trailing comment
            export EXPORTED=yes
            SINGLE='it''s $HOME'
            DOUBLE="line1\\nline2 \\"q\\" $HOME"
            MULTI="a
            b"
            EMPTY=
            """)
        let vars = Dictionary(parsed, uniquingKeysWith: { $1 })
        #expect(vars["PLAIN"] == "hello world")
        #expect(vars["EXPORTED"] == "yes")
        #expect(vars["SINGLE"] == "it")
        #expect(vars["DOUBLE"] == "line1\nline2 \"q\" $HOME")
        #expect(vars["MULTI"] == "a\nb")
        #expect(vars["EMPTY"] == "")
    }

    @Test func dotEnvErrorsNameTheLine() {
        #expect {
            try ConfigVars.parseDotEnv("A=1\nnot an assignment\n", fileName: "app.env")
        } throws: { error in
            (error as? BuildError)?.message.contains("app.env line 2") == true
        }
        #expect(throws: BuildError.self) { try ConfigVars.parseDotEnv("A=\"never closed\n") }
        #expect(throws: BuildError.self) { try ConfigVars.parseDotEnv("9X=1") }
    }
}
