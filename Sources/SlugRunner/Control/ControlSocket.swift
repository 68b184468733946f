import Foundation
import SlipwayLogs
public import SlipwayRunnerKit
public import SlipwaySpool
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The runner's control socket, `<root>/runner/control.sock`: the door asks here for one-off dynos (`run myapp --
/// bash`). Each connection brings one ``OneOffRequest`` line with the SSH session's stdin, stdout and stderr
/// attached; the runner starts the dyno on them and answers with ``OneOffReply`` lines (docs/spool.md, "What the
/// door wants of the dynos").
///
/// The watcher owns it: it polls ``fd``, calls ``accept()`` when it is readable, starts a dyno for each
/// ``PendingRun``, reports ``started(_:dyno:)`` and later ``finished(_:status:)`` (or ``failed(_:_:)``), and stops
/// the dyno when ``PendingRun/isClosed`` says the door has gone (poll ``PendingRun/fd`` for that).
public final class ControlSocket {
    /// `<root>/runner/control.sock`.
    public let path: String
    private let listener: UnixSocket
    private let identity: (device: UInt64, inode: UInt64)

    /// The listening socket's descriptor: readable when a door connects.
    public var fd: Int32 { listener.fd }

    /// How long ``accept()`` waits for a connection's request line (the door sends it as it connects).
    public static let requestWait: Int32 = 1000

    /// Listens at `root`'s control socket: mode 0600, owned by the owner of `<root>` (the door's user) when this
    /// runs as root; a stale socket left by a dead watcher is replaced.
    public init(root: RunnerRoot) throws {
        path = root.layout.controlSocket
        do throws(SystemError) {
            try FileSystem.makeFolders(root.runnerDirectory, mode: 0o750)
            let owner = DoorAccess(rootPath: root.path).owner.map { ($0.uid, $0.gid) }
            listener = try UnixSocket.listen(at: path, mode: 0o600, owner: owner)
        } catch {
            throw RunnerError.system(error.operation, error.path.isEmpty ? path : error.path, errno: error.errno)
        }
        var info = stat()
        identity = lstat(path, &info) == 0 ? (UInt64(info.st_dev), UInt64(info.st_ino)) : (0, 0)
    }

    deinit {
        // Remove the file only if it is still this socket (a later watcher may have replaced it).
        var info = stat()
        if lstat(path, &info) == 0, UInt64(info.st_dev) == identity.device, UInt64(info.st_ino) == identity.inode {
            unlink(path)
        }
    }

    /// The requests of every connection waiting now. A connection whose request is malformed (not JSON, an invalid
    /// app name, an empty command, not exactly three descriptors) gets an error line and is closed here.
    public func accept() -> [PendingRun] {
        var runs: [PendingRun] = []
        while let connection = try? listener.accept() {
            switch Self.readRequest(connection) {
            case .success(let run): runs.append(run)
            case .failure(let refusal): Self.answer(connection, .failed(refusal.message))
            }
        }
        return runs
    }

    /// Tells the door the dyno started as `dyno` (`run.3`). For a detached run that is the whole answer.
    public func started(_ run: PendingRun, dyno: String) {
        Self.answer(run.connection, .started(dyno: dyno))
        if run.request.detach { run.connection.shutdownWriting() }
    }

    /// Tells the door the one-off dyno its stop request names is being stopped (SIGTERM, SIGKILL after the grace
    /// period); that is the whole answer.
    public func stopping(_ run: PendingRun, dyno: String) {
        Self.answer(run.connection, .started(dyno: dyno))
        run.connection.shutdownWriting()
    }

    /// Tells the door how the dyno ended; the door exits with that status.
    public func finished(_ run: PendingRun, status: ExitStatus) {
        switch status {
        case .exited(let code): Self.answer(run.connection, .exited(code))
        case .signaled(let signal): Self.answer(run.connection, .signaled(signal))
        }
        run.connection.shutdownWriting()
    }

    /// Tells the door the dyno could not start (`myapp has no release yet`), in one line for the user.
    public func failed(_ run: PendingRun, _ message: String) {
        Self.answer(run.connection, .failed(message))
        run.connection.shutdownWriting()
    }

    // MARK: - The wire

    private struct Refusal: Error {
        var message: String
    }

    private static func answer(_ connection: UnixSocket, _ reply: OneOffReply) {
        // A door that has gone is no error: there is nobody left to tell.
        guard let line = try? JSONLines.line(reply) else { return }
        try? connection.send(line)
    }

    /// Reads one request line and its descriptors, waiting at most ``requestWait`` in all.
    private static func readRequest(_ connection: UnixSocket) -> Result<PendingRun, Refusal> {
        var buffer = JSONLines.Buffer(limit: OneOffRequest.maximumLength)
        var fds: [Int32] = []
        let deadline = ContinuousClock.now + .milliseconds(Int(requestWait))
        var refusal = "the request did not arrive within \(requestWait) ms"
        defer {
            // On success the descriptors moved into the run; otherwise they are closed here.
            for fd in fds { close(fd) }
        }
        while ContinuousClock.now < deadline {
            let left = (deadline - ContinuousClock.now).components
            let milliseconds = left.seconds * 1000 + left.attoseconds / 1_000_000_000_000_000
            guard connection.waitReadable(milliseconds: Int32(max(1, milliseconds))) else { continue }
            let received: UnixSocket.Received
            do throws(SystemError) {
                received = try connection.receive(maximumDescriptors: OneOffRequest.descriptorCount)
            } catch {
                refusal = "the request's descriptors could not be received: \(error.description)"
                break
            }
            fds += received.fds
            guard !received.data.isEmpty else {
                refusal = "the connection closed before the request ended"
                break
            }
            let lines: [Data]
            do throws(JSONLinesError) { lines = try buffer.append(received.data) } catch {
                refusal = "the request is \(error.description)"
                break
            }
            guard let line = lines.first else { continue }
            switch validate(line, descriptors: fds) {
            case .success(let request):
                let run = PendingRun(request: request, descriptors: fds, connection: connection)
                fds = []
                return .success(run)
            case .failure(let failure):
                return .failure(failure)
            }
        }
        return .failure(Refusal(message: refusal))
    }

    private static func validate(_ line: Data, descriptors: [Int32]) -> Result<OneOffRequest, Refusal> {
        guard let request = try? JSONDecoder().decode(OneOffRequest.self, from: line) else {
            return .failure(Refusal(message: "the request is not a one-off dyno request (docs/spool.md)"))
        }
        guard AppName.isValid(request.app) else {
            return .failure(Refusal(message: "'\(request.app.prefix(64))' is not an app name"))
        }
        if let stop = request.stop {
            guard OneOffRequest.isOneOffName(stop) else {
                return .failure(Refusal(message: "'\(stop.prefix(64))' is not a one-off dyno: give run.N"))
            }
            return .success(request)
        }
        guard !request.command.allSatisfy(\.isWhitespace), !request.command.contains("\0"),
            request.command.utf8.count <= OneOffRequest.maximumLength
        else {
            return .failure(Refusal(message: "the command is empty or holds a NUL byte"))
        }
        let sizes = [request.columns, request.lines].compactMap { $0 }
        guard sizes.allSatisfy({ (1...10_000).contains($0) }) else {
            return .failure(Refusal(message: "the terminal size is out of range"))
        }
        guard descriptors.count == OneOffRequest.descriptorCount else {
            return .failure(
                Refusal(message: "the request came without the session's stdin, stdout and stderr descriptors"))
        }
        return .success(request)
    }
}

/// A one-off dyno the door asked for: what to run, the session's descriptors to run it on, and the connection the
/// answer goes back on.
public final class PendingRun {
    /// What to run.
    public let request: OneOffRequest
    /// The session's stdin, stdout and stderr (this process's copies, close-on-exec): hand them to the dyno as its
    /// fds 0, 1 and 2, then ``closeSessionDescriptors()``. -1 once closed.
    public private(set) var stdin: Int32
    public private(set) var stdout: Int32
    public private(set) var stderr: Int32
    fileprivate let connection: UnixSocket

    fileprivate init(request: OneOffRequest, descriptors: [Int32], connection: UnixSocket) {
        self.request = request
        // A stop request may come without descriptors.
        let given = descriptors + [-1, -1, -1]
        stdin = given[0]
        stdout = given[1]
        stderr = given[2]
        self.connection = connection
    }

    deinit { closeSessionDescriptors() }

    /// The connection's descriptor: poll it for `POLLIN`; when it reports something, ask ``isClosed``.
    public var fd: Int32 { connection.fd }

    /// Whether the door has gone (the SSH session ended): then stop the dyno. Never waits.
    public var isClosed: Bool { connection.peerClosed }

    /// Closes this process's copies of the session's descriptors, as soon as the dyno has its own (or at once for a
    /// detached run): while the runner holds them, the SSH session cannot end.
    public func closeSessionDescriptors() {
        for fd in [stdin, stdout, stderr] where fd >= 0 { close(fd) }
        stdin = -1
        stdout = -1
        stderr = -1
    }
}
