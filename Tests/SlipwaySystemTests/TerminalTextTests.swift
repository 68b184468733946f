import SlipwaySystem
import Testing

@Suite struct TerminalTextTests {
    @Test(arguments: [
        ("plain text", "plain text"),
        ("tab\tstays", "tab\tstays"),
        ("\u{1B}[1;31mbold red\u{1B}[0m", "\u{1B}[1;31mbold red\u{1B}[0m"),
        ("\u{1B}[m reset", "\u{1B}[m reset"),
        ("\u{1B}[2Jclear", "clear"),
        ("\u{1B}[10;20Hmove", "move"),
        ("\u{1B}[?25lhide cursor", "hide cursor"),
        ("\u{1B}[31;1xweird final", "weird final"),
        ("\u{1B}]0;title\u{07}after", "after"),
        ("\u{1B}]8;;http://evil\u{1B}\\link\u{1B}]8;;\u{1B}\\", "link"),
        ("\u{1B}Pdevice control\u{1B}\\x", "x"),
        ("\u{1B}creset", "reset"),
        ("\u{1B}7save", "save"),
        ("\u{9B}2J C1 CSI", "2J C1 CSI"),
        ("bell\u{07}", "bell"),
        ("back\u{08}space", "backspace"),
        ("del\u{7F}", "del"),
        ("nul\u{00}byte", "nulbyte"),
        ("10%\r50%\r100%", "100%"),
        ("windows line\r", "windows line"),
        ("unterminated \u{1B}[", "unterminated "),
        ("unterminated osc \u{1B}]0;forever", "unterminated osc "),
        ("ümlaut ✓ 🚀", "ümlaut ✓ 🚀"),
    ])
    func sanitizes(_ input: String, _ expected: String) {
        #expect(TerminalText.sanitize(input) == expected)
    }
}
