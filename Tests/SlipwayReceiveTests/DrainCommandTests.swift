import Foundation
import SlipwayReceive
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import Testing

@testable import SlipwayDoorRecords

/// `drains`, `drains:add`, `drains:remove`, run in-process against a scratch root: what they write to `dynos.json`,
/// what they print, and who may use them.
@Suite struct DrainCommandTests {
    let scratch: ScratchDirectory
    let root: SlipwayRoot

    init() throws {
        scratch = try ScratchDirectory("drains")
        root = SlipwayRoot(scratch.url("root"))
        try AppRegistry(root: root).create("myapp", owner: "alice")
        try AppRegistry(root: root).create("other", owner: "bob")
    }

    func run(_ words: [String], as actor: Actor = .user("alice")) -> (status: Int32, out: String, err: String) {
        runCommand(words, root: root, as: actor)
    }

    func drains(_ app: String = "myapp") throws -> [LogDrain] {
        try DynoSettings.load(from: root.layout.dynoSettings(app)).logDrains
    }

    @Test func drainsAreAddedWithATokenListedAndRemovedByURLOrToken() throws {
        #expect(run(["drains", "myapp"]).out == "=== myapp drains\n(none: drains:add myapp <url> adds one)\n")
        let added = run(["drains:add", "myapp", "syslog+tls://Logs.Example.com:6514"])
        #expect(added.status == 0, "\(added.err)")
        let first = try #require(try drains().first)
        #expect(first.url == "syslog+tls://logs.example.com:6514")
        #expect(LogDrain.isToken(first.token))
        #expect(
            added.err == "Successfully added drain syslog+tls://logs.example.com:6514 to myapp (token \(first.token))\n"
        )
        #expect(run(["drains:add", "myapp", "syslog+tls://logs.example.com:6514"]).err.contains("already: no change"))
        #expect(run(["drains:add", "myapp", "https://in.example.com/logs?key=1"]).status == 0)
        let both = try drains()
        #expect(both.count == 2)
        #expect(
            run(["drains", "myapp"]).out
                == "=== myapp drains\n\(both[0].url) (\(both[0].token))\n\(both[1].url) (\(both[1].token))\n")

        #expect(
            run(["drains:remove", "myapp", both[0].token]).err
                == "Successfully removed drain syslog+tls://logs.example.com:6514 from myapp\n")
        #expect(run(["drains:remove", "myapp", "https://IN.example.com/logs?key=1"]).status == 0)
        #expect(try drains().isEmpty)
        #expect(try DynoSettings.load(from: root.layout.dynoSettings("myapp")).drains == nil)
    }

    @Test func badDrainsAreRefusedInOneLineAndChangeNothing() throws {
        #expect(run(["drains:add", "myapp", "syslog://a.example.com:514"]).status == 0)
        let before = try drains()
        let cases: [([String], String)] = [
            (
                ["drains:add", "myapp", "ftp://a.example.com:21"],
                "slipway: 'ftp://a.example.com:21' is not a drain URL"
            ),
            (["drains:add", "myapp", "syslog://a.example.com"], "slipway: 'syslog://a.example.com' names no port"),
            (["drains:add", "myapp", "syslog://a.example.com:0"], "slipway: port 0 is out of range"),
            (["drains:add", "myapp", "syslog://a\u{1b}[31m:5"], "slipway: a drain's URL is printable ASCII"),
            (["drains:remove", "myapp", "syslog://b.example.com:514"], "slipway: myapp has no drain"),
            (["drains:add", "other", "syslog://a.example.com:515"], "slipway: alice has no access to other"),
        ]
        for (words, expected) in cases {
            let result = run(words)
            #expect(result.status == 1, "\(words)")
            #expect(result.err.hasPrefix(expected), "\(words): \(result.err)")
            #expect(result.err.filter { $0 == "\n" }.count == 1, "one line: \(result.err)")
            #expect(!result.err.contains(root.path), "no server path: \(result.err)")
        }
        #expect(try drains() == before)
        #expect(try drains("other").isEmpty)
        #expect(run(["drains", "other"]).status == 1)
    }

    @Test func anAppHasAtMostTenDrains() throws {
        for port in 1...10 { #expect(run(["drains:add", "myapp", "syslog://a.example.com:\(port)"]).status == 0) }
        let refused = run(["drains:add", "myapp", "syslog://a.example.com:11"])
        #expect(refused.err == "slipway: myapp: an app has 10 drains at most; remove one\n")
        #expect(try drains().count == 10)
    }
}
