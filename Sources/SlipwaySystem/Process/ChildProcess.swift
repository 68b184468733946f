public import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// Why a child could not be run to completion.
public enum ChildProcessError: Error, Equatable, Sendable {
    /// `posix_spawn` failed (for example: not executable, no such file).
    case spawnFailed(path: String, errno: Int32)
    /// The deadline passed; the whole process group was killed.
    case timedOut
    /// A cancelling signal arrived; the whole process group was killed.
    case interrupted(signal: Int32)
    /// The watchdog stopped the run (for example: the disk is nearly full); the whole process group was killed.
    case stopped(reason: String)
}

/// Runs one program, as buildpacks are run: in a process group of its own, with an explicit environment, standard
/// input from `/dev/null`, and its output read as it is written.
///
/// On a timeout, a cancelling signal, or the program's exit, every process left in its group is killed with SIGKILL,
/// so a buildpack can neither outlive its phase nor leave a daemon behind (unless the run is meant to start one:
/// ``startsDaemon``). (A process that leaves the group on
/// purpose, with `setsid`, is the sandbox's job; see the security notes in docs/security.md.)
public struct ChildProcess {
    /// What to do with one output stream.
    public enum Output {
        /// Hand each line to the closure as soon as it is complete.
        case lines((String) -> Void)
        /// Keep the bytes (up to `limit`; the rest is read and dropped) and return them in ``Result``.
        case capture(limit: Int)
    }

    /// What the run produced.
    public struct Result {
        public var status: ExitStatus
        /// Bytes captured from stdout with ``Output/capture(limit:)``.
        public var stdout: Data
        /// Bytes captured from stderr with ``Output/capture(limit:)``.
        public var stderr: Data
    }

    public var executable: String
    public var arguments: [String]
    public var environment: [String: String]
    /// The working directory of the child.
    public var directory: String?
    public var stdout: Output
    /// Where stderr goes; `nil` sends it into the same pipe as stdout, so the two keep their relative order.
    public var stderr: Output?
    /// When to give up and kill the group.
    public var deadline: ContinuousClock.Instant?
    /// Cancels the run when a signal arrives.
    public var signals: SignalWatcher?
    /// Called when the child has printed nothing for `idleInterval` (for keep-alive lines).
    public var onIdle: (() -> Void)?
    public var idleInterval: Duration = .seconds(30)
    /// Checked about once a second while the child runs; a reason stops the run (``ChildProcessError/stopped(reason:)``).
    public var watchdog: (() -> String?)?
    /// What the program reads on its standard input, then end of file (at most ``inputLimit`` bytes: it is written
    /// into the pipe before the program starts); nil: `/dev/null`.
    public var input: [UInt8]?
    /// Whether the program starts a daemon and exits (as `redis-server` with `daemonize yes` does): its group is then
    /// left alone when it exits, since the daemon it forked may not have left the group (`setsid`) yet. A timeout, a
    /// cancelling signal or the watchdog still kill the group.
    public var startsDaemon = false
    /// The most ``input`` may hold: what a pipe holds without a reader.
    public static let inputLimit = 16 * 1024

    public init(
        executable: String, arguments: [String] = [], environment: [String: String], directory: String? = nil,
        stdout: Output, stderr: Output? = nil
    ) {
        self.executable = executable
        self.arguments = arguments
        self.environment = environment
        self.directory = directory
        self.stdout = stdout
        self.stderr = stderr
    }

    /// Runs the program to its end and returns how it ended.
    public func run() throws -> Result {
        try start().wait()
    }

    /// A program that was started and whose output is read by ``wait()``. Starting several before waiting for any
    /// runs them side by side (their output waits in the pipes).
    public struct Started {
        fileprivate let child: ChildProcess
        fileprivate let pid: pid_t
        fileprivate let outFD: Int32
        fileprivate let errFD: Int32

        /// Reads the output until the program ends; the same as the rest of ``ChildProcess/run()``.
        public func wait() throws -> Result {
            try child.supervise(pid: pid, outFD: outFD, errFD: errFD)
        }

        /// Kills the program's process group without reading its output, and reaps it.
        public func cancel() {
            ProcessGroup.signal(pid, SIGKILL)
            _ = reap(pid, block: true)
            close(outFD)
            if errFD >= 0 { close(errFD) }
        }
    }

    /// Starts the program; ``Started/wait()`` or ``Started/cancel()`` must follow.
    public func start() throws -> Started {
        let pipes: [PipeEnds]
        do { pipes = try PipeEnds.several(stderr == nil ? 1 : 2) } catch {
            throw ChildProcessError.spawnFailed(path: executable, errno: error.errno)
        }
        let outPipe = pipes[0]
        let errPipe = pipes.count > 1 ? pipes[1] : nil
        let inputEnd = try inputDescriptor()
        defer { if inputEnd >= 0 { close(inputEnd) } }
        let pid: pid_t
        do {
            pid = try Self.spawn(
                executable: executable, arguments: arguments, environment: environment, directory: directory,
                stdio: (stdin: inputEnd, stdout: outPipe.writeEnd, stderr: errPipe?.writeEnd ?? outPipe.writeEnd))
        } catch {
            for pipe in pipes { pipe.close() }
            throw error
        }
        close(outPipe.writeEnd)
        if let errPipe { close(errPipe.writeEnd) }
        return Started(child: self, pid: pid, outFD: outPipe.readEnd, errFD: errPipe?.readEnd ?? -1)
    }

    /// The read end of a pipe holding ``input`` (closed for writing), or -1 for none.
    private func inputDescriptor() throws -> Int32 {
        guard let input else { return -1 }
        precondition(input.count <= Self.inputLimit, "a child's input is written before it starts")
        let pipe: PipeEnds
        do { pipe = try PipeEnds() } catch { throw ChildProcessError.spawnFailed(path: executable, errno: error.errno) }
        defer { close(pipe.writeEnd) }
        let failure = input.withUnsafeBytes { bytes -> SystemError? in
            do throws(SystemError) {
                try DurableFile.writeAll(pipe.writeEnd, bytes, path: "the input of \(executable)")
                return nil
            } catch { return error }
        }
        if let error = failure {
            close(pipe.readEnd)
            throw ChildProcessError.spawnFailed(path: executable, errno: error.errno)
        }
        return pipe.readEnd
    }

    /// Starts a program in a new process group with the given descriptors as its standard input, output and error
    /// (the built-in SSH server connects a session's channel this way), and `inherit` as 3, 4, …. Returns its pid
    /// (= its group id); the caller reaps it.
    public static func spawn(
        executable: String, arguments: [String], environment: [String: String], directory: String? = nil,
        stdin: Int32, stdout: Int32, stderr: Int32, inherit: [Int32] = []
    ) throws -> pid_t {
        try spawn(
            executable: executable, arguments: arguments, environment: environment, directory: directory,
            stdio: (stdin: stdin, stdout: stdout, stderr: stderr), inherit: inherit)
    }

    /// Starts a program in its own process group (``Spawn``) with either the given descriptors (stdin -1 means
    /// /dev/null) or the caller's stdio.
    private static func spawn(
        executable: String, arguments: [String], environment: [String: String], directory: String?,
        stdio: (stdin: Int32, stdout: Int32, stderr: Int32)?, inherit: [Int32] = []
    ) throws -> pid_t {
        var spawn = Spawn(executable: executable, arguments: arguments, environment: environment, directory: directory)
        if let stdio {
            spawn.stdin = stdio.stdin >= 0 ? .descriptor(stdio.stdin) : .null
            spawn.stdout = .descriptor(stdio.stdout)
            spawn.stderr = .descriptor(stdio.stderr)
        } else {
            spawn.stdin = .inherit
        }
        spawn.extraDescriptors = inherit
        spawn.resetJobControlSignals = false
        do {
            return try spawn.start()
        } catch {
            throw ChildProcessError.spawnFailed(path: error.path, errno: error.errno)
        }
    }

    /// Reads both pipes until the child exits, enforcing the deadline and watching for signals.
    fileprivate func supervise(pid: pid_t, outFD: Int32, errFD: Int32) throws -> Result {
        var streams = [Stream(fd: outFD, output: stdout)]
        if errFD >= 0, let stderr { streams.append(Stream(fd: errFD, output: stderr)) }
        defer { for stream in streams where stream.fd >= 0 { close(stream.fd) } }
        // Readable once the child has exited, so its end is noticed at once, not at the next poll timeout (a
        // program usually closes its pipes a moment before it can be reaped).
        let exitFD = ProcessGroup.exitDescriptor(pid)
        defer { if exitFD >= 0 { close(exitFD) } }

        var exitStatus: ExitStatus?
        var lastOutput = ContinuousClock.now
        var drainDeadline: ContinuousClock.Instant?
        let clock = ContinuousClock()
        var chunk = [UInt8](repeating: 0, count: 64 * 1024)
        var lastWatch = clock.now

        func killGroup() {
            ProcessGroup.signal(pid, SIGKILL)
            Self.killOrphans()
        }
        func abort(_ error: ChildProcessError) -> ChildProcessError {
            killGroup()
            _ = reap(pid, block: true)
            return error
        }

        while true {
            if exitStatus == nil, let status = reap(pid, block: false) {
                exitStatus = status
                // The leader is gone: stop anything it left running (but the daemon it was run to start), then read
                // what is still in the pipes.
                if !startsDaemon { killGroup() }
                drainDeadline = clock.now + .seconds(2)
            }
            let open = streams.indices.filter { streams[$0].fd >= 0 }
            if let exitStatus, let drainDeadline, open.isEmpty || clock.now >= drainDeadline {
                for index in streams.indices where streams[index].fd >= 0 { streams[index].finish() }
                let captured = streams.map(\.captured)
                return Result(
                    status: exitStatus, stdout: captured[0], stderr: captured.count > 1 ? captured[1] : Data())
            }
            if let signals, let signal = signals.poll() { throw abort(.interrupted(signal: signal)) }
            if exitStatus == nil, let deadline, clock.now >= deadline { throw abort(.timedOut) }
            if exitStatus == nil, let watchdog, clock.now - lastWatch >= .seconds(1) {
                lastWatch = clock.now
                if let reason = watchdog() { throw abort(.stopped(reason: reason)) }
            }

            var fds = open.map { pollfd(fd: streams[$0].fd, events: Int16(POLLIN), revents: 0) }
            if let signals, signals.fd >= 0 { fds.append(pollfd(fd: signals.fd, events: Int16(POLLIN), revents: 0)) }
            if exitStatus == nil, exitFD >= 0 { fds.append(pollfd(fd: exitFD, events: Int16(POLLIN), revents: 0)) }
            // Short waits keep the loop noticing the child's exit even while a descendant holds a pipe open (and
            // without a pidfd, on kernels before 5.3).
            let ready = poll(&fds, nfds_t(fds.count), exitFD >= 0 || !open.isEmpty ? 100 : 5)
            if ready < 0 && errno != EINTR { throw abort(.spawnFailed(path: executable, errno: errno)) }

            var sawOutput = false
            for (slot, index) in open.enumerated() where fds[slot].revents != 0 {
                let n = chunk.withUnsafeMutableBytes { read(streams[index].fd, $0.baseAddress, $0.count) }
                if n > 0 {
                    sawOutput = true
                    chunk.withUnsafeBytes { streams[index].consume(UnsafeRawBufferPointer(rebasing: $0[0..<n])) }
                } else if n == 0 || (errno != EINTR && errno != EAGAIN) {
                    streams[index].finish()
                    close(streams[index].fd)
                    streams[index].fd = -1
                }
            }
            if sawOutput {
                lastOutput = clock.now
            } else if let onIdle, exitStatus == nil, clock.now - lastOutput >= idleInterval {
                onIdle()
                lastOutput = clock.now
            }
        }
    }

    /// One pipe being read: split into lines, or captured up to a limit.
    private struct Stream {
        var fd: Int32
        var output: Output
        var splitter = LineSplitter()
        var captured = Data()

        init(fd: Int32, output: Output) {
            self.fd = fd
            self.output = output
        }

        mutating func consume(_ bytes: UnsafeRawBufferPointer) {
            switch output {
            case .lines(let handler):
                for line in splitter.append(bytes) { handler(line) }
            case .capture(let limit):
                let room = max(0, limit - captured.count)
                if room > 0 { captured.append(contentsOf: bytes.prefix(room)) }
            }
        }

        mutating func finish() {
            if case .lines(let handler) = output, let last = splitter.flush() { handler(last) }
        }
    }
}
