import Foundation
import SlipwayDoorRecords
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The pipes between `git receive-pack` (or `upload-pack`) and the pusher: the door reads what git and its hooks
/// print and passes it on with the server's folders hidden (``SidebandRedactor`` on stdout, ``LineRedactor`` on
/// stderr). When stdout is not filtered, git writes to the door's own stdout directly.
struct GitOutput {
    /// How git's stdout reaches the client.
    enum Stdout {
        /// Straight to the door's stdout, unread (upload-pack's pack).
        case direct
        /// Read as pkt-lines, its side-band messages redacted (receive-pack over SSH).
        case pktLines
        /// CGI headers as they are, then pkt-lines (`git http-backend` serving receive-pack).
        case cgiThenPktLines
    }

    private struct Stream {
        var readEnd: Int32
        var writeEnd: Int32
        let destination: Int32
    }

    private var stdoutStream: Stream?
    private var stderrStream: Stream
    private var sideband: SidebandRedactor
    private var lines: LineRedactor
    /// One read's worth of git's output, reused.
    private var buffer = [UInt8](repeating: 0, count: 64 * 1024)

    init(redactions: Redactions, stdout: Stdout) throws {
        // A pusher who hangs up closes the door's stdout: writing there must be an error, not a fatal signal.
        ignoreBrokenPipes()
        sideband = SidebandRedactor(redactions, afterHeaders: stdout == .cgiThenPktLines)
        lines = LineRedactor(redactions)
        let err = try Self.pipe()
        stderrStream = Stream(readEnd: err.readEnd, writeEnd: err.writeEnd, destination: 2)
        if stdout != .direct {
            do {
                let out = try Self.pipe()
                stdoutStream = Stream(readEnd: out.readEnd, writeEnd: out.writeEnd, destination: 1)
            } catch {
                closeReadEnds()
                closeWriteEnds()
                throw error
            }
        }
    }

    private static func pipe() throws -> PipeEnds {
        do { return try PipeEnds() } catch {
            throw DoorError(
                .pushFailed, lines: "Cannot start git: no pipe (\(String(cString: strerror(error.errno)))).",
                systemError: error)
        }
    }

    /// What git gets as stdout: the pipe, or the door's own stdout.
    var stdoutWriteEnd: Int32 { stdoutStream?.writeEnd ?? 1 }
    /// What git gets as stderr.
    var stderrWriteEnd: Int32 { stderrStream.writeEnd }

    /// Closes this process's copies of the write ends, once git has its own: then the pipes end when git and its
    /// hooks are gone.
    mutating func closeWriteEnds() {
        if let fd = stdoutStream?.writeEnd, fd >= 0 { close(fd) }
        if stderrStream.writeEnd >= 0 { close(stderrStream.writeEnd) }
        stdoutStream?.writeEnd = -1
        stderrStream.writeEnd = -1
    }

    /// Closes the read ends (git could not be started).
    mutating func closeReadEnds() {
        if let fd = stdoutStream?.readEnd, fd >= 0 { close(fd) }
        if stderrStream.readEnd >= 0 { close(stderrStream.readEnd) }
        stdoutStream?.readEnd = -1
        stderrStream.readEnd = -1
    }

    /// The pipes still open, to poll for input.
    var pollDescriptors: [pollfd] {
        [stdoutStream?.readEnd, stderrStream.readEnd].compactMap { $0 }.filter { $0 >= 0 }
            .map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    }

    /// Reads the pipes `ready` reports readable (or closed) and passes their bytes on.
    mutating func pass(ready: [pollfd]) {
        for entry in ready where entry.revents != 0 { read(entry.fd) }
    }

    /// Reads what is left until git and every hook closed the pipes (they have all exited), and sends what the
    /// redactors still hold.
    mutating func finish() {
        while !pollDescriptors.isEmpty {
            var fds = pollDescriptors
            guard poll(&fds, nfds_t(fds.count), 1000) > 0 else { break }
            pass(ready: fds)
        }
        if let out = stdoutStream { writeAll(out.destination, sideband.finish()) }
        writeAll(stderrStream.destination, lines.finish())
        closeReadEnds()
    }

    private mutating func read(_ fd: Int32) {
        let n = buffer.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress, $0.count) }
        if n < 0 && (errno == EINTR || errno == EAGAIN) { return }
        let isStdout = fd == stdoutStream?.readEnd
        guard n > 0 else {
            close(fd)
            if isStdout { stdoutStream?.readEnd = -1 } else { stderrStream.readEnd = -1 }
            return
        }
        if isStdout, let out = stdoutStream {
            writeAll(out.destination, sideband.feed(buffer[0..<n]))
        } else {
            writeAll(stderrStream.destination, lines.feed(buffer[0..<n]))
        }
    }
}
