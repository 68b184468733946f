import Foundation
import SlipwayDoorRecords
import SlipwaySpool
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The door's side of a one-off dyno: asks the runner over its control socket (``RootLayout/controlSocket``) with
/// one ``OneOffRequest`` line carrying the session's stdin, stdout and stderr, then waits for the ``OneOffReply``
/// lines. The dyno reads and writes the session's descriptors itself; nothing passes through the door.
///
/// If the door goes first (the client hung up, a signal), its end of the socket closes with it, and the runner
/// stops the dyno.
struct OneOffClient {
    /// `<root>/runner/control.sock`.
    var socketPath: String
    /// stdin, stdout, stderr of the session: what the dyno gets.
    var descriptors: [Int32]

    /// The refusal when nothing listens on the socket.
    static let noRunner = DoorError(
        .notPossible, "slipway: no runner is running on this server: start slugrunner watch")

    /// Starts the dyno and waits for its end (only for its start when `request.detach`; only for the runner's answer
    /// when `request.stop` names a dyno to stop). `started` gets the dyno's
    /// name; `shouldStop` is asked between waits (a signal, a hang-up) and, when it says so, gives the status to
    /// return at once. Returns the dyno's exit status as a shell reports it.
    func run(_ request: OneOffRequest, started: (String) -> Void, shouldStop: () -> Int32?) throws -> Int32 {
        let socket: UnixSocket
        do throws(SystemError) {
            socket = try UnixSocket.connect(to: socketPath)
        } catch {
            if [ENOENT, ECONNREFUSED, ENOTSOCK].contains(error.errno) { throw Self.noRunner }
            throw DoorError(.notPossible, lines: "cannot reach the runner: \(error.description)", systemError: error)
        }
        do {
            try socket.send(try JSONLines.line(request), fds: descriptors)
        } catch let error as SystemError {
            throw DoorError(
                .notPossible, lines: "the runner did not take the request: \(error.description)", systemError: error)
        }
        var buffer = JSONLines.Buffer(limit: 64 * 1024)
        while true {
            if let status = shouldStop() { return status }
            guard socket.waitReadable(milliseconds: 250) else { continue }
            let received: UnixSocket.Received
            do throws(SystemError) { received = try socket.receive(maximumDescriptors: 1) } catch {
                throw DoorError(.notPossible, lines: "lost the runner: \(error.description)", systemError: error)
            }
            for fd in received.fds { close(fd) }
            guard !received.data.isEmpty else {
                throw DoorError(
                    .notPossible, "slipway: the runner stopped before the dyno ended (was slugrunner watch stopped?)")
            }
            let lines: [Data]
            do throws(JSONLinesError) { lines = try buffer.append(received.data) } catch {
                throw DoorError(.notPossible, "slipway: the runner sent \(error.description)")
            }
            for line in lines {
                guard let reply = try? JSONDecoder().decode(OneOffReply.self, from: line) else {
                    throw DoorError(
                        .notPossible, "slipway: the runner's answer is not one this door understands: upgrade it")
                }
                switch reply {
                case .started(let dyno):
                    started(dyno)
                    if request.detach || request.stop != nil { return 0 }
                case .failed(let message):
                    throw DoorError(.notPossible, "slipway: " + TerminalText.printable(message, limit: 400))
                case .exited, .signaled:
                    return reply.exitCode ?? 1
                }
            }
        }
    }
}
