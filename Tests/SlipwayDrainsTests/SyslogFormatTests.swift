import Foundation
import SlipwayDrains
import SlipwayLogs
import SlipwaySpool
import Testing

@Suite struct SyslogFormatTests {
    let token = "d.9173ea1f-6f14-4976-9cf0-7cd0dafdcdbc"
    let date = Date(timeIntervalSince1970: 1_796_643_005.25)

    @Test func aDynoLineIsRFC5424WithTheAppAsHostAndTheDynoAsProcID() {
        let line = LogLine(date: date, source: "app", component: "web.1", text: "Listening on 5000")
        #expect(
            SyslogFormat.message(line, app: "myapp", token: token)
                == "<190>1 2026-12-07T11:30:05.250000+00:00 myapp app web.1 - [drain@32473 token=\"\(token)\"] "
                + "Listening on 5000")
    }

    @Test func theRouterAndTheRunnerHaveTheirOwnFacilities() {
        #expect(SyslogFormat.priority(source: "slugrunner", component: "router") == 158)
        #expect(SyslogFormat.priority(source: "slugrunner", component: "deploy") == 134)
        #expect(SyslogFormat.priority(source: "app", component: "release.1") == 190)
    }

    @Test func controlCharactersAndSpacesCannotForgeFramesOrFields() {
        let line = LogLine(date: date, source: "app", component: "web 1\n", text: "a\nb\r\u{7f}\tc")
        let message = SyslogFormat.message(line, app: "myapp", token: token)
        #expect(message.hasSuffix(" myapp app web_1_ - [drain@32473 token=\"\(token)\"] a?b??\tc"))
        #expect(!message.contains("\n"))
    }

    @Test func octetCountingCountsBytesNotCharacters() {
        #expect(SyslogFormat.octetCounted("héllo") == Array("6 héllo".utf8))
    }

    @Test func aLogplexBodyCountsEachMessagesNewline() {
        let body = String(decoding: SyslogFormat.logplexBody(["<40>1 a", "<40>1 bc"]), as: UTF8.self)
        #expect(body == "8 <40>1 a\n9 <40>1 bc\n")
    }

    @Test func theOverflowLineIsHerokusL10() {
        #expect(
            SyslogFormat.overflowText(token: token, dropped: 13, since: date)
                == "Error L10 (output buffer overflow): drain '\(token)' dropped 13 messages since "
                + "2026-12-07T11:30:05.250000+00:00.")
    }

    @Test func theAppsLogSaysWhatHappensToADrain() {
        let drain = LogDrain(url: "syslog://logs.example.com:514", token: token)
        #expect(
            DrainEvent.unreachable("cannot connect to logs.example.com:514").logLine(drain).formatted.hasSuffix(
                " slugrunner[drain]: Drain \(token) (syslog://logs.example.com:514) is unreachable (cannot connect to "
                    + "logs.example.com:514); its lines wait in its buffer"))
        #expect(
            DrainEvent.recovered.logLine(drain).text == "Drain \(token) (syslog://logs.example.com:514) delivers again")
        #expect(
            DrainEvent.overflow(dropped: 7, since: date.timeIntervalSince1970).logLine(drain).text
                == SyslogFormat.overflowText(token: token, dropped: 7, since: date))
    }

    @Test func anEmptyFieldIsADash() {
        let line = LogLine(date: date, source: "", component: "", text: "")
        #expect(SyslogFormat.message(line, app: "a", token: token).contains(" a - - - [drain@32473"))
    }
}

@Suite struct DrainBufferTests {
    @Test func keepsTheNewestLinesAndCountsTheDropped() {
        var buffer = DrainBuffer<Int>(capacity: 3)
        let first = Date(timeIntervalSince1970: 100)
        for value in 1...5 { buffer.append(value, now: first.addingTimeInterval(Double(value))) }
        #expect(buffer.count == 3)
        #expect(buffer.take(10) == [3, 4, 5])
        let dropped = buffer.takeDropped()
        #expect(dropped?.count == 2)
        #expect(dropped?.since == first.addingTimeInterval(4))
        #expect(buffer.takeDropped() == nil)
        #expect(buffer.isEmpty)
    }

    @Test func takesInOrderInBatchesAcrossTheWrap() {
        var buffer = DrainBuffer<Int>(capacity: 4)
        for value in 1...3 { buffer.append(value) }
        #expect(buffer.take(2) == [1, 2])
        for value in 4...6 { buffer.append(value) }
        #expect(buffer.dropped == 0)
        #expect(buffer.take(3) == [3, 4, 5])
        #expect(buffer.take(3) == [6])
    }
}

@Suite struct LogDrainURLTests {
    @Test(arguments: [
        ("syslog+tls://Logs.Example.com:6514", "syslog+tls://logs.example.com:6514"),
        ("syslog://10.0.0.1:514", "syslog://10.0.0.1:514"),
        ("syslog://[::1]:514", "syslog://[::1]:514"),
        ("https://logs.example.com/drain?key=abc", "https://logs.example.com/drain?key=abc"),
        ("https://user:pass@logs.example.com:8443", "https://user:pass@logs.example.com:8443/"),
    ])
    func acceptsAndNormalizes(_ given: String, _ normalized: String) throws {
        #expect(try LogDrainURL.parse(given).normalized == normalized)
    }

    @Test(arguments: [
        ("ftp://logs.example.com:21", "is not a drain URL"),
        ("syslog://logs.example.com", "names no port"),
        ("syslog://logs.example.com:70000", "is out of range"),
        ("syslog://logs.example.com:514/path", "without a path"),
        ("https://", "names no host"),
        ("https://bad_host.example.com/", "is not a host name"),
        ("https://logs.example.com/a b", "printable ASCII"),
        ("logs.example.com:514", "is not a drain URL"),
    ])
    func refusesWithOneLineSayingWhatToGive(_ given: String, _ reason: String) {
        #expect {
            try LogDrainURL.parse(given)
        } throws: { error in
            let description = "\(error)"
            return description.contains(reason) && !description.contains("\n")
        }
    }

    @Test func tokensAreHerokusForm() {
        let token = LogDrain.newToken()
        #expect(LogDrain.isToken(token))
        #expect(!LogDrain.isToken("d.nope"))
        let stable = AppDrains.operatorDrain("syslog://a:1", app: "x")
        #expect(LogDrain.isToken(stable.token))
        #expect(stable == AppDrains.operatorDrain("syslog://a:1", app: "x"))
        #expect(stable.token != AppDrains.operatorDrain("syslog://a:1", app: "y").token)
    }
}
