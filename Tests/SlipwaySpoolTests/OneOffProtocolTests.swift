import Foundation
import SlipwaySpool
import SlipwayTestSupport
import Testing

/// The door → runner contract beyond the spool: `dynos.json` changes and the control socket's JSON lines.
@Suite struct OneOffProtocolTests {
    @Test func changesParseInOrderWithinTheirRange() throws {
        let changes = try DynoSettings.parseChanges(["web=2", "worker=0", "clock_2-x=100"], values: 0...100)
        #expect(changes.map(\.type) == ["web", "worker", "clock_2-x"])
        #expect(changes.map(\.value) == [2, 0, 100])
        #expect(try DynoSettings.parseChanges(["web=1024"], values: DynoSettings.memoryRange).first?.value == 1024)
    }

    @Test(arguments: [
        ["web"], ["web="], ["=2"], ["web=-1"], ["web=101"], ["web=2x"], ["we b=1"], ["web.1=1"], ["web=١"],
        ["web=+1"], ["web=0000000001"],
    ])
    func malformedChangesNameTheWord(_ words: [String]) {
        #expect(throws: DynoSettings.ChangeError.malformed(words[0])) {
            try DynoSettings.parseChanges(words, values: 0...100)
        }
    }

    @Test func releaseRepeatsAndNothingAreRefused() {
        #expect(throws: DynoSettings.ChangeError.releaseType) {
            try DynoSettings.parseChanges(["release=1"], values: 0...9)
        }
        #expect(throws: DynoSettings.ChangeError.repeated("web")) {
            try DynoSettings.parseChanges(["web=1", "web=2"], values: 0...9)
        }
        #expect(throws: DynoSettings.ChangeError.nothingGiven) { try DynoSettings.parseChanges([], values: 0...9) }
    }

    @Test func updateChangesTheFileUnderItsLockAndKeepsTheRest() throws {
        let scratch = try ScratchDirectory("dynos")
        let layout = RootLayout(scratch.url("root"))
        let first = try DynoSettings.update(layout, app: "myapp") { $0 = $0.scaling("worker", to: 2) }
        #expect(first.quantities == ["web": 1, "worker": 2])
        #expect(first.summary == "web=1 worker=2")
        try DynoSettings.update(layout, app: "myapp") { $0.domains.append("www.example.com") }
        let saved = try DynoSettings.load(from: layout.dynoSettings("myapp"))
        #expect(saved.formation["worker"]?.quantity == 2 && saved.domains == ["www.example.com"])
        #expect(FileManager.default.fileExists(atPath: layout.dynoSettingsLock("myapp")))
        // A change the checks refuse is not saved.
        #expect(throws: SpoolError.self) {
            try DynoSettings.update(layout, app: "myapp") { $0.domains.append("Not A Host") }
        }
        #expect(try DynoSettings.load(from: layout.dynoSettings("myapp")) == saved)
        #expect(DynoSettings().summary == "web=1")
        #expect(DynoSettings.sortedTypes(["zeta", "web", "alpha"]) == ["web", "alpha", "zeta"])
    }

    @Test func requestsAndRepliesAreOneJSONLineEach() throws {
        let request = OneOffRequest(
            app: "myapp", command: "echo 'a b' | wc -c", detach: true, user: "alice", columns: 80)
        let line = try JSONLines.line(request)
        #expect(line.last == 0x0a && !line.dropLast().contains(0x0a))
        #expect(try JSONDecoder().decode(OneOffRequest.self, from: line) == request)
        let minimal = try JSONDecoder().decode(
            OneOffRequest.self, from: Data(#"{"app":"myapp","command":"ls","detach":false}"#.utf8))
        #expect(minimal == OneOffRequest(app: "myapp", command: "ls"))

        let replies: [(OneOffReply, String)] = [
            (.started(dyno: "run.3"), #"{"dyno":"run.3"}"#), (.exited(3), #"{"exit":3}"#),
            (.signaled(9), #"{"signal":9}"#),
            (.failed("myapp has no release yet"), #"{"error":"myapp has no release yet"}"#),
        ]
        for (reply, json) in replies {
            #expect(String(decoding: try JSONLines.line(reply), as: UTF8.self) == json + "\n")
            #expect(try JSONDecoder().decode(OneOffReply.self, from: Data(json.utf8)) == reply)
        }
        #expect(OneOffReply.signaled(9).exitCode == 137 && OneOffReply.exited(3).exitCode == 3)
        #expect(throws: DecodingError.self) { try JSONDecoder().decode(OneOffReply.self, from: Data("{}".utf8)) }
    }

    @Test func lineBufferSplitsAndLimits() throws {
        var buffer = JSONLines.Buffer(limit: 8)
        #expect(try buffer.append(Data("ab".utf8)).isEmpty)
        #expect(buffer.hasPartialLine)
        #expect(try buffer.append(Data("c\nde\nf".utf8)) == [Data("abc".utf8), Data("de".utf8)])
        #expect(throws: JSONLinesError.lineTooLong(limit: 8)) { try buffer.append(Data("123456789".utf8)) }
    }
}
