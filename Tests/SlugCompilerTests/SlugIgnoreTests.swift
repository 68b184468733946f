import Testing

@testable import SlugCompiler

@Suite struct SlugIgnoreTests {
    let rules = SlugIgnore(
        parsing: """
            # comment
            *.psd
            /docs
            tests/
            assets/raw/*.wav
            **/fixtures
            """)

    @Test(arguments: [
        ("design.psd", false, true),
        ("img/deep/logo.psd", false, true),
        ("docs", true, true),
        ("src/docs", true, false),
        ("tests", true, true),
        ("lib/tests", true, true),
        ("tests", false, false),
        ("assets/raw/a.wav", false, true),
        ("assets/raw/sub/a.wav", false, false),
        ("a/b/fixtures", true, true),
        ("fixtures", true, true),
        ("app.py", false, false),
        ("psd", false, false),
    ])
    func matchesHerokuRules(path: String, isDirectory: Bool, ignored: Bool) {
        #expect(rules.ignores(path, isDirectory: isDirectory) == ignored)
    }

    @Test func emptyAndCommentOnlyFilesIgnoreNothing() {
        #expect(SlugIgnore(parsing: "").isEmpty)
        #expect(SlugIgnore(parsing: "# only\n\n   \n").isEmpty)
    }

    @Test(arguments: [
        ("*.txt", "a.txt", true), ("*.txt", "a/b.txt", false), ("a?c", "abc", true), ("a?c", "a/c", false),
        ("[ab]x", "bx", true), ("[!ab]x", "ax", false), ("[a-c]1", "c1", true), ("**", "a/b/c", true),
        ("a/**/z", "a/z", true), ("a/**/z", "a/b/c/z", true), ("\\*", "*", true), ("[", "[", true),
    ])
    func globMatcher(pattern: String, text: String, matches: Bool) {
        #expect(globMatch(Array(pattern.utf8)[...], Array(text.utf8)[...]) == matches)
    }
}
