public import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// A child process for tests, started with the system layer's ``Spawn`` and reaped with `waitpid` on its own pid only.
///
/// Foundation's `Process` is not used anywhere in the tests: on Linux it learns that a child ended when a socket the
/// child inherited is closed, and then blocks in `waitpid` for it. A program that closes every inherited descriptor
/// (sshd does, at start) therefore freezes Foundation's one monitoring thread, and every other `Process` of the test
/// run is never reaped.
public final class TestProcess: @unchecked Sendable {
    /// Where a standard stream goes.
    public enum Output: Sendable {
        /// Read by a thread into memory (``stdoutData``, ``stderrData``).
        case capture
        /// Into the same pipe as stdout (for stderr only), so the two keep their order.
        case mergeWithStdout
        /// Appended to a file.
        case file(String)
        /// Discarded.
        case null
    }

    /// The process id.
    public let pid: pid_t

    private let lock = NSLock()
    private var status: Int32?
    private var outBuffer = Data()
    private var errBuffer = Data()
    private var stdinFD: Int32 = -1
    private let readers = DispatchGroup()

    /// Starts `argv[0]` (an absolute path) with `argv` as its arguments.
    ///
    /// - Parameters:
    ///   - environment: the whole environment (default: the test's own).
    ///   - stdin: with `true`, a pipe the test writes with ``write(_:)`` and closes with ``closeStdin()``;
    ///     otherwise `/dev/null`.
    ///   - newSession: start it in a session (and process group) of its own, so ``killGroup(_:)`` reaches
    ///     everything it starts.
    public init(
        _ argv: [String], environment: [String: String]? = nil, directory: String? = nil, stdin: Bool = false,
        stdout: Output = .capture, stderr: Output = .capture, newSession: Bool = false
    ) throws {
        precondition(!argv.isEmpty && argv[0].hasPrefix("/"), "TestProcess needs an absolute executable path")
        var spawn = Spawn(
            executable: argv[0], arguments: Array(argv.dropFirst()),
            environment: environment ?? ProcessInfo.processInfo.environment, directory: directory)
        spawn.group = newSession ? .newSession : .callers
        spawn.resetJobControlSignals = false
        var parentEnds: [Int32] = []
        var childEnds: [Int32] = []
        defer { for fd in childEnds { close(fd) } }
        func pipePair() throws -> (read: Int32, write: Int32) {
            do {
                let pipe = try PipeEnds()
                return (pipe.readEnd, pipe.writeEnd)
            } catch {
                throw ToolError.launchFailed(argv, "pipe: \(error)")
            }
        }

        var inWrite: Int32 = -1
        if stdin {
            let pair = try pipePair()
            spawn.stdin = .descriptor(pair.read)
            childEnds.append(pair.read)
            inWrite = pair.write
        }
        var outRead: Int32 = -1
        var errRead: Int32 = -1
        var outWrite: Int32 = -1
        for (target, output) in [(Int32(1), stdout), (Int32(2), stderr)] {
            let stream: Spawn.Stream
            switch output {
            case .capture:
                let pair = try pipePair()
                stream = .descriptor(pair.write)
                childEnds.append(pair.write)
                parentEnds.append(pair.read)
                if target == 1 {
                    outRead = pair.read
                    outWrite = pair.write
                } else {
                    errRead = pair.read
                }
            case .mergeWithStdout:
                precondition(target == 2 && outWrite >= 0, "only stderr merges, and only into a captured stdout")
                stream = .descriptor(outWrite)
            case .file(let path): stream = .appending(path)
            case .null: stream = .null
            }
            if target == 1 { spawn.stdout = stream } else { spawn.stderr = stream }
        }
        let pid: pid_t
        do {
            pid = try spawn.start()
        } catch {
            for fd in parentEnds + [inWrite] where fd >= 0 { close(fd) }
            throw ToolError.launchFailed(argv, String(cString: strerror(error.errno)))
        }
        self.pid = pid
        stdinFD = inWrite
        if outRead >= 0 { startReader(outRead, stderr: false) }
        if errRead >= 0 { startReader(errRead, stderr: true) }
    }

    private func startReader(_ fd: Int32, stderr: Bool) {
        readers.enter()
        Thread.detachNewThread { [self] in
            var chunk = [UInt8](repeating: 0, count: 65536)
            while true {
                let n = chunk.withUnsafeMutableBytes { read(fd, $0.baseAddress, $0.count) }
                if n < 0 && errno == EINTR { continue }
                if n <= 0 { break }
                lock.withLock {
                    if stderr {
                        errBuffer.append(contentsOf: chunk[0..<n])
                    } else {
                        outBuffer.append(contentsOf: chunk[0..<n])
                    }
                }
            }
            close(fd)
            readers.leave()
        }
    }

    /// Everything read from stdout (with stderr, when merged) so far.
    public var stdoutData: Data { lock.withLock { outBuffer } }
    /// Everything read from stderr so far.
    public var stderrData: Data { lock.withLock { errBuffer } }
    /// ``stdoutData`` as UTF-8 text.
    public var stdoutText: String { String(decoding: stdoutData, as: UTF8.self) }

    /// Writes to the child's stdin pipe (ignoring a child that stopped reading).
    public func write(_ data: Data) {
        let fd = lock.withLock { stdinFD }
        guard fd >= 0 else { return }
        writeAll(fd, [UInt8](data))
    }

    /// Closes the child's stdin pipe.
    public func closeStdin() {
        lock.withLock {
            if stdinFD >= 0 { close(stdinFD) }
            stdinFD = -1
        }
    }

    /// The exit status (128 + signal when killed by one), once the process has ended; reaps it.
    public var exitStatus: Int32? {
        lock.withLock {
            if status == nil { status = Self.reap(pid, block: false) }
            return status
        }
    }

    /// Whether the process is still running.
    public var isRunning: Bool { exitStatus == nil }

    /// Waits for the process to end and for its output pipes to close; nil if it was still running after `timeout`
    /// seconds (it is left running).
    @discardableResult
    public func wait(timeout: TimeInterval = 120) -> Int32? {
        let deadline = Date().addingTimeInterval(timeout)
        while exitStatus == nil {
            if Date() > deadline { return nil }
            usleep(5_000)
        }
        // Descendants that still hold the pipes open get a few seconds, then the output is taken as it is.
        _ = readers.wait(timeout: .now() + 5)
        return exitStatus
    }

    /// Sends `signal` to the process.
    public func signal(_ signal: Int32) {
        if isRunning { kill(pid, signal) }
    }

    /// Sends `signal` to the process group led by the process (started with `newSession`).
    public func signalGroup(_ signal: Int32) { kill(-pid, signal) }

    /// SIGTERM, then SIGKILL after `grace` seconds; returns once it was reaped.
    public func terminate(grace: TimeInterval = 5) {
        guard isRunning else { return }
        kill(pid, SIGTERM)
        if wait(timeout: grace) == nil {
            kill(pid, SIGKILL)
            wait(timeout: 30)
        }
    }

    deinit {
        if status == nil, Self.reap(pid, block: false) == nil {
            kill(pid, SIGKILL)
            _ = Self.reap(pid, block: true)
        }
        if stdinFD >= 0 { close(stdinFD) }
    }

    /// waitpid on one pid; the status as a shell reports it.
    private static func reap(_ pid: pid_t, block: Bool) -> Int32? {
        switch Reaping.reap(pid, block: block) {
        case .running: nil
        case .ended(let status): status.code
        case .notAChild: 255  // not our child any more: treat as ended
        }
    }
}
