import Testing

@testable import SlipwaySystem

@Suite struct LineSplitterTests {
    func feed(_ splitter: inout LineSplitter, _ text: String) -> [String] {
        Array(text.utf8).withUnsafeBytes { splitter.append($0) }
    }

    @Test func emitsLinesAsTheyCompleteAcrossChunks() {
        var splitter = LineSplitter()
        #expect(feed(&splitter, "hel") == [])
        #expect(feed(&splitter, "lo\nwor") == ["hello"])
        #expect(feed(&splitter, "ld\r\n\n") == ["world", ""])
        #expect(feed(&splitter, "tail") == [])
        #expect(splitter.flush() == "tail")
        #expect(splitter.flush() == nil)
    }

    @Test func cutsOverlongLines() {
        var splitter = LineSplitter(maxLineLength: 4)
        #expect(feed(&splitter, "abcdefghij\n") == ["abcd", "efgh", "ij"])
    }

    @Test func invalidUTF8BecomesReplacementCharacters() {
        var splitter = LineSplitter()
        let lines = [UInt8]([0x61, 0xff, 0x62, 0x0a]).withUnsafeBytes { splitter.append($0) }
        #expect(lines == ["a\u{FFFD}b"])
    }
}
