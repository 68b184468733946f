import Foundation
import SlipwayReceive
import SlipwayTestSupport
import Testing

/// The filter between git and the pusher: paths hidden in side-band messages and on stderr, everything else byte
/// for byte.
@Suite struct GitOutputRedactorTests {
    let redactions = Redactions.door(repository: "/srv/slipway/apps/myapp/repo.git", root: "/srv/slipway")

    /// One pkt-line: four hex digits of length, then the payload.
    func packet(_ payload: [UInt8]) -> [UInt8] {
        Array(String(format: "%04x", payload.count + 4).utf8) + payload
    }

    func band(_ number: UInt8, _ text: String) -> [UInt8] { packet([number] + Array(text.utf8)) }

    @Test func gitsLockErrorReadsRelativeToTheRepository() {
        let line =
            "error: cannot lock ref 'refs/heads/main': Unable to create "
            + "'/srv/slipway/apps/myapp/repo.git/./refs/heads/main.lock': File exists.\n"
        let out = redactions.apply(Array(line.utf8))
        #expect(
            String(decoding: out, as: UTF8.self)
                == "error: cannot lock ref 'refs/heads/main': Unable to create 'refs/heads/main.lock': File exists.\n")
        #expect(
            String(decoding: redactions.apply(Array("see /srv/slipway/tmp/x".utf8)), as: UTF8.self)
                == "see <server>/tmp/x")
    }

    @Test func sidebandMessagesAreRedactedAndEverythingElsePassesThrough() {
        var filter = SidebandRedactor(redactions)
        let advertisement = packet(
            Array("0123456789012345678901234567890123456789 refs/heads/main\0report-status\n".utf8))
        let report = band(1, "000eunpack ok\n")
        let stream =
            advertisement + [0x30, 0x30, 0x30, 0x30] + band(2, "error: /srv/slipway/apps/myapp/repo.git/HEAD.lock\n")
            + report + [0x30, 0x30, 0x30, 0x30]
        let out = filter.feed(stream) + filter.finish()
        let expected =
            advertisement + [0x30, 0x30, 0x30, 0x30] + band(2, "error: HEAD.lock\n") + report
            + [0x30, 0x30, 0x30, 0x30]
        #expect(out == expected)
    }

    /// A path cut in two by the packet boundaries, and the stream fed a byte at a time, is still found.
    @Test func aPathSplitAcrossPacketsAndReadsIsStillHidden() {
        var filter = SidebandRedactor(redactions)
        let stream =
            band(2, "remote error at /srv/sli") + band(2, "pway/keys\nnext") + band(2, " line\n") + [
                0x30, 0x30, 0x30, 0x30,
            ]
        var out: [UInt8] = []
        for byte in stream { out += filter.feed([byte]) }
        out += filter.finish()
        var messages = ""
        var offset = 0
        while offset + 4 <= out.count {
            let length = Int(String(decoding: out[offset..<offset + 4], as: UTF8.self), radix: 16)!
            if length == 0 { break }
            #expect(out[offset + 4] == 2)
            messages += String(decoding: out[offset + 5..<offset + length], as: UTF8.self)
            offset += length
        }
        #expect(messages == "remote error at <server>/keys\nnext line\n")
        #expect(!String(decoding: out, as: UTF8.self).contains("/srv/slipway"))
    }

    /// Not pkt-lines after all: the rest passes through untouched rather than breaking the push.
    @Test func somethingThatIsNotPktLinesPassesThrough() {
        var filter = SidebandRedactor(redactions)
        let garbage = Array("PACK\u{0}\u{0}\u{0}\u{2}/srv/slipway".utf8)
        #expect(filter.feed(garbage) + filter.finish() == garbage)
    }

    @Test func stderrIsRedactedLineByLine() {
        var lines = LineRedactor(redactions)
        var out = lines.feed(Array("fatal: /srv/slip".utf8))
        #expect(out.isEmpty, "held until its line ends")
        out += lines.feed(Array("way/apps/myapp/repo.git/config.lock\rnext".utf8))
        out += lines.finish()
        #expect(String(decoding: out, as: UTF8.self) == "fatal: config.lock\rnext")
    }
}

/// Which lock files recovery takes as git's leftovers.
@Suite struct StaleGitLocksTests {
    @Test func findsTheLockFilesGitLeavesAndRemovesOnlyOldOnesWhenAsked() throws {
        let scratch = try ScratchDirectory("gitlocks")
        let repository = try scratch.makeDirectory("repo.git")
        for file in [
            "HEAD.lock", "packed-refs.lock", "config.lock", "refs/heads/main.lock", "refs/heads/a/b.lock",
            "refs/heads/main", "objects/pack/x.lock", "description",
        ] {
            _ = try scratch.write("repo.git/\(file)", "x\n")
        }
        #expect(
            StaleGitLocks.find(in: repository)
                == ["HEAD.lock", "config.lock", "packed-refs.lock", "refs/heads/a/b.lock", "refs/heads/main.lock"])
        #expect(StaleGitLocks.remove(in: repository, olderThan: StaleGitLocks.foreignAge).isEmpty, "all are fresh")
        #expect(StaleGitLocks.remove(in: repository).count == 5)
        #expect(StaleGitLocks.find(in: repository).isEmpty)
        #expect(scratch.exists("repo.git/refs/heads/main") && scratch.exists("repo.git/objects/pack/x.lock"))
    }
}

/// Behind the HTTP door, `git http-backend` writes CGI headers before the pkt-lines.
@Suite struct CGISidebandRedactorTests {
    @Test func headersPassThenSidebandIsRedacted() {
        let redactions = Redactions.door(repository: "/srv/slipway/apps/myapp/repo.git", root: "/srv/slipway")
        var filter = SidebandRedactor(redactions, afterHeaders: true)
        let headers = Array("Status: 200 OK\r\nContent-Type: application/x-git-receive-pack-result\r\n\r\n".utf8)
        let message = Array("error: /srv/slipway/apps/myapp/repo.git/HEAD.lock\n".utf8)
        let packet = Array(String(format: "%04x", message.count + 5).utf8) + [2] + message
        var out: [UInt8] = []
        for byte in headers + packet + Array("0000".utf8) { out += filter.feed([byte]) }
        out += filter.finish()
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("Status: 200 OK\r\n"))
        #expect(text.contains("\u{2}error: HEAD.lock\n"))
        #expect(!text.contains("/srv/slipway"))
    }
}
