import Foundation
import SlipwayTestSupport
import Testing

@testable import SlipwaySystem

/// Who listens on a port: the proof the runner asks of a dyno on the host's network before it serves.
@Suite struct ListeningSocketsTests {
    @Test func readsListenersOfEitherFamilyAndSkipsConnections() {
        let table = """
              sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
               0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000  1000        0 4242 1 0
               1: 0100007F:1F90 0100007F:D431 01 00000000:00000000 00:00000000 00000000  1000        0 4243 1 0
               2: 00000000:1F91 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4244 1 0
            """
        #expect(ListeningSockets.inodes(listeningOn: 8080, table: table) == [4242])
        #expect(ListeningSockets.inodes(listeningOn: 8081, table: table) == [4244])
        #expect(ListeningSockets.inodes(listeningOn: 8082, table: table).isEmpty)
        #expect(ListeningSockets.inodes(listeningOn: 8080, table: "garbage\n1: x y 0A\n").isEmpty)
    }

    @Test func aProcessTreeHoldsItsOwnListenerAndNotAnothers() throws {
        let scratch = try ScratchDirectory("listening-sockets")
        let ownPort = try freeLoopbackPort()
        let otherPort = try freeLoopbackPort()
        // The tree: a shell whose child listens (as a dyno's bash runs its web server).
        // The shell records its child, which its own end would orphan: the test stops both.
        let tree = try TestProcess(
            [
                "/bin/bash", "-c",
                "/usr/bin/python3 -m http.server \(ownPort) --bind 127.0.0.1 & echo $! > child.pid; wait; exit 0",
            ],
            directory: scratch.path)
        defer {
            if let text = try? String(contentsOfFile: scratch.url("child.pid"), encoding: .utf8),
                let child = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines))
            {
                kill(child, SIGTERM)
            }
            tree.terminate(grace: 5)
        }
        let other = try TestProcess(
            ["/usr/bin/python3", "-m", "http.server", "\(otherPort)", "--bind", "127.0.0.1"], directory: scratch.path)
        defer { other.terminate(grace: 5) }
        #expect(
            waitUntil(seconds: 30) {
                portAcceptsConnections(ownPort, host: "127.0.0.1")
                    && portAcceptsConnections(otherPort, host: "127.0.0.1")
            })

        let own = ListeningSockets.inodes(listeningOn: ownPort)
        #expect(own.count == 1)
        #expect(ListeningSockets.tree(of: tree.pid, holdsAnyOf: own), "the listener is the tree's grandchild's")
        #expect(!ListeningSockets.tree(of: other.pid, holdsAnyOf: own))
        #expect(!ListeningSockets.tree(of: tree.pid, holdsAnyOf: ListeningSockets.inodes(listeningOn: otherPort)))
        #expect(!ListeningSockets.tree(of: tree.pid, holdsAnyOf: []))
    }
}
