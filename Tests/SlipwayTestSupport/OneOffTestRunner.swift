public import Foundation
import SlipwayRunnerKit
public import SlipwaySpool
public import SlipwaySystem
import SlugRunner

#if canImport(Glibc)
    import Glibc
#endif

/// The runner's side of one-off dynos, for door tests: the real ``ControlSocket`` on a root, and each request run as
/// `/bin/sh -c <command>` on the descriptors the door passed (through the system layer's ``Spawn``, without the
/// watcher's sandbox), answered with its real exit status. A door that goes away gets its dyno killed, as the
/// watcher does. Runs on a thread of its own until ``stop()``.
public final class OneOffTestRunner: @unchecked Sendable {
    /// A request the runner took, and what became of it.
    public struct Record: Sendable {
        public var request: OneOffRequest
        public var dyno: String
        public var pid: pid_t
        /// How it ended; nil while it runs.
        public var status: ExitStatus?
        /// Whether the door went away first, so the dyno was killed.
        public var killedForClosedDoor: Bool
    }

    private let socket: ControlSocket
    private let stopPipe: PipeEnds
    private let lock = NSLock()
    private var taken: [Record] = []
    private let done = DispatchSemaphore(value: 0)
    private var thread: Thread?

    /// Listens on `root`'s control socket.
    public init(root: String) throws {
        socket = try ControlSocket(root: RunnerRoot(root))
        stopPipe = try PipeEnds()
        let thread = Thread { [self] in
            loop()
            done.signal()
        }
        self.thread = thread
        thread.start()
    }

    deinit { stopPipe.close() }

    /// The requests taken so far.
    public var records: [Record] { lock.withLock { taken } }

    /// Stops the loop (killing dynos still running) and waits for it; the socket file goes with the runner.
    public func stop() {
        guard thread != nil else { return }
        writeAll(stopPipe.writeEnd, [1])
        done.wait()
        thread = nil
    }

    private func loop() {
        var running: [(run: PendingRun, pid: pid_t, index: Int)] = []
        while true {
            var fds = [
                pollfd(fd: socket.fd, events: Int16(POLLIN), revents: 0),
                pollfd(fd: stopPipe.readEnd, events: Int16(POLLIN), revents: 0),
            ]
            fds += running.map { pollfd(fd: $0.run.fd, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 50)
            let stopping = fds[1].revents != 0
            for run in socket.accept() { if let started = start(run) { running.append(started) } }
            running.removeAll { entry in
                // A detached dyno's door leaves at once; an attached one's leaving stops the dyno.
                if stopping || (!entry.run.request.detach && entry.run.isClosed) {
                    ProcessGroup.signal(entry.pid, SIGKILL)
                    _ = Reaping.reap(entry.pid, block: true)
                    lock.withLock { taken[entry.index].killedForClosedDoor = !stopping }
                    return true
                }
                guard case .ended(let status) = Reaping.reap(entry.pid, block: false) else { return false }
                lock.withLock { taken[entry.index].status = status }
                socket.finished(entry.run, status: status)
                return true
            }
            if stopping { return }
        }
    }

    private func start(_ run: PendingRun) -> (run: PendingRun, pid: pid_t, index: Int)? {
        var spawn = Spawn(
            executable: "/bin/sh", arguments: ["-c", run.request.command],
            environment: ["PATH": "/usr/bin:/bin", "DYNO": "run.\(records.count + 1)"])
        spawn.stdin = run.request.detach ? .null : .descriptor(run.stdin)
        spawn.stdout = run.request.detach ? .null : .descriptor(run.stdout)
        spawn.stderr = run.request.detach ? .null : .descriptor(run.stderr)
        let pid: pid_t
        do { pid = try spawn.start() } catch {
            socket.failed(run, "cannot start the dyno: \(error)")
            return nil
        }
        run.closeSessionDescriptors()
        let dyno = "run.\(records.count + 1)"
        let index = lock.withLock {
            taken.append(Record(request: run.request, dyno: dyno, pid: pid, status: nil, killedForClosedDoor: false))
            return taken.count - 1
        }
        socket.started(run, dyno: dyno)
        return (run, pid, index)
    }
}
