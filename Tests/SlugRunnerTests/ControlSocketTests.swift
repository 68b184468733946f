import Foundation
import SlipwaySpool
import SlipwaySystem
import SlipwayTestSupport
import SlugRunner
import Testing

@testable import SlipwayRunnerKit

#if canImport(Glibc)
    import Glibc
#endif

/// The runner's control socket, driven by a client written here from the protocol (docs/spool.md).
@Suite struct ControlSocketTests {
    /// Sends `line` with `fds` and returns the connection.
    func ask(_ root: RunnerRoot, _ line: String, fds: [Int32]) throws -> UnixSocket {
        let client = try UnixSocket.connect(to: root.layout.controlSocket)
        try client.send(Data((line + "\n").utf8), fds: fds)
        return client
    }

    /// The reply lines until the runner closes its side.
    func replies(_ client: UnixSocket) throws -> [String] {
        var text = ""
        while client.waitReadable(milliseconds: 10_000) {
            let data = try client.receive().data
            if data.isEmpty { break }
            text += String(decoding: data, as: UTF8.self)
        }
        return text.split(separator: "\n").map(String.init)
    }

    @Test func aRequestBringsTheSessionsDescriptorsAndGetsItsAnswers() throws {
        let scratch = try ScratchDirectory("control")
        let root = RunnerRoot(scratch.url("root"))
        let socket = try ControlSocket(root: root)
        var info = stat()
        #expect(lstat(root.layout.controlSocket, &info) == 0 && info.st_mode & 0o777 == 0o600)
        #expect(socket.accept().isEmpty)

        let output = try PipeEnds()
        defer { output.close() }
        let client = try ask(
            root, #"{"app":"myapp","command":"echo hi","detach":false,"user":"alice","columns":80}"#,
            fds: [0, output.writeEnd, output.writeEnd])
        var runs: [PendingRun] = []
        #expect(
            waitUntil(seconds: 10) {
                runs += socket.accept()
                return !runs.isEmpty
            })
        let run = try #require(runs.first)
        #expect(run.request == OneOffRequest(app: "myapp", command: "echo hi", user: "alice", columns: 80))
        writeAll(run.stdout, Array("from the dyno\n".utf8))
        run.closeSessionDescriptors()
        #expect(run.stdout == -1)
        var buffer = [UInt8](repeating: 0, count: 64)
        let count = read(output.readEnd, &buffer, buffer.count)
        #expect(String(decoding: buffer[0..<max(0, count)], as: UTF8.self) == "from the dyno\n")

        #expect(!run.isClosed)
        socket.started(run, dyno: "run.1")
        socket.finished(run, status: .signaled(9))
        #expect(try replies(client) == [#"{"dyno":"run.1"}"#, #"{"signal":9}"#])
    }

    @Test func aDoorThatLeavesIsNoticed() throws {
        let scratch = try ScratchDirectory("control")
        let root = RunnerRoot(scratch.url("root"))
        let socket = try ControlSocket(root: root)
        var client: UnixSocket? = try ask(root, #"{"app":"myapp","command":"sleep 9","detach":false}"#, fds: [0, 1, 2])
        var runs: [PendingRun] = []
        #expect(
            waitUntil(seconds: 10) {
                runs += socket.accept()
                return !runs.isEmpty
            })
        let run = try #require(runs.first)
        #expect(!run.isClosed)
        client = nil
        #expect(waitUntil(seconds: 10) { run.isClosed })
        _ = client
    }

    @Test func badRequestsGetOneErrorLine() throws {
        let scratch = try ScratchDirectory("control")
        let root = RunnerRoot(scratch.url("root"))
        let socket = try ControlSocket(root: root)
        let cases: [(line: String, descriptors: Int, message: String)] = [
            (#"not json"#, 3, "the request is not a one-off dyno request"),
            (#"{"app":"../etc","command":"ls","detach":false}"#, 3, "'../etc' is not an app name"),
            (#"{"app":"myapp","command":"  ","detach":false}"#, 3, "the command is empty"),
            (#"{"app":"myapp","command":"ls","detach":false}"#, 1, "the request came without the session's stdin"),
            (#"{"app":"myapp","command":"ls","detach":false,"lines":0}"#, 3, "the terminal size is out of range"),
        ]
        for (line, descriptors, message) in cases {
            let client = try ask(root, line, fds: Array([0, 1, 2].prefix(descriptors)))
            #expect(
                waitUntil(seconds: 10) {
                    _ = socket.accept()
                    return client.waitReadable(milliseconds: 0)
                })
            let answer = try replies(client)
            #expect(answer.count == 1, "\(line)")
            let reply = try JSONDecoder().decode(OneOffReply.self, from: Data((answer.first ?? "").utf8))
            guard case .failed(let text) = reply else {
                Issue.record("\(line): \(reply)")
                continue
            }
            #expect(text.hasPrefix(message), "\(text)")
        }
    }

    @Test func aStaleSocketIsReplacedAndTheFileGoesWithTheRunner() throws {
        let scratch = try ScratchDirectory("control")
        let root = RunnerRoot(scratch.url("root"))
        try FileSystem.makeFolders(root.runnerDirectory, mode: 0o750)
        try scratch.write("root/runner/control.sock", "left behind")
        var socket: ControlSocket? = try ControlSocket(root: root)
        _ = try UnixSocket.connect(to: root.layout.controlSocket)
        socket = nil
        #expect(!FileManager.default.fileExists(atPath: root.layout.controlSocket))
        _ = socket
    }
}
