import Foundation
import SlipwaySystem
import Testing

/// Times and durations as people read them, and as Heroku writes them.
@Suite struct DurationsTests {
    @Test func clockTimesAreHerokusAndInUTC() {
        #expect(formatClockTime(Date(timeIntervalSince1970: 1_796_000_000)) == "2026/11/30 00:53:20 +0000")
        #expect(formatClockTime(Date(timeIntervalSince1970: 0)) == "1970/01/01 00:00:00 +0000")
    }

    @Test func agesAndDurations() {
        #expect(
            [59, 60, 3599, 3600, 86_399, 86_400].map { formatAge(seconds: $0) } == [
                "59s", "1m", "59m", "1h", "23h", "1d",
            ])
        #expect(formatDuration(.milliseconds(3200)) == "3.2s")
        #expect(formatDuration(.seconds(125)) == "2m05s")
    }
}
