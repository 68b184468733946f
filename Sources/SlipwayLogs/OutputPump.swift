import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Reads the dynos' output pipes on a thread of its own and writes their lines into their apps' logs, so that a dyno
/// printing without end never slows the watcher's loop (nor, through it, any other app's deploys, scaling or one-off
/// dynos). Each dyno has a ``LogBudget``: past it, its lines are dropped and counted, and an L11 line in its app's
/// log says how many. What it holds is bounded: one read buffer, and an unfinished line of at most 16 KiB per pipe;
/// a dyno that prints faster than the pump reads blocks on its own full pipe.
public final class OutputPump: @unchecked Sendable {
    /// One process's output pipe.
    private final class Stream {
        let fd: Int32
        let label: String
        let log: AppLog
        var lines = OutputLines()
        var budget: LogBudget

        init(fd: Int32, label: String, log: AppLog, budget: LogBudget) {
            self.fd = fd
            self.label = label
            self.log = log
            self.budget = budget
        }
    }

    public let rate: LogRate
    private let clock = ContinuousClock()
    private let wake: PipeEnds
    private let lock = NSLock()
    /// Pipes handed over and not yet taken by the thread; whether it must drain and end.
    private var arriving: [Stream] = []
    private var finishing = false
    private let done = DispatchSemaphore(value: 0)
    private var started = false

    public init(rate: LogRate) throws {
        self.rate = rate
        wake = try PipeEnds(nonBlockingRead: true)
        _ = fcntl(wake.writeEnd, F_SETFL, fcntl(wake.writeEnd, F_GETFL) | O_NONBLOCK)
    }

    deinit {
        close(wake.readEnd)
        close(wake.writeEnd)
    }

    /// Takes over `fd` (the read end of `label`'s output pipe, non-blocking): its lines go into `log`, and the pump
    /// closes it at its end. Starts the thread at the first call.
    public func add(_ fd: Int32, label: String, log: AppLog) {
        let stream = Stream(fd: fd, label: label, log: log, budget: LogBudget(rate: rate, now: clock.now))
        let start = lock.withLock {
            arriving.append(stream)
            defer { started = true }
            return !started
        }
        if start {
            let thread = Thread { [self] in run() }
            thread.name = "slugrunner output"
            thread.start()
        } else {
            poke()
        }
    }

    /// Reads what is left in every pipe, closes them, and ends the thread (the watcher stops).
    public func finish() {
        let running = lock.withLock {
            finishing = true
            return started
        }
        guard running else { return }
        poke()
        done.wait()
    }

    private func poke() {
        var byte: UInt8 = 1
        _ = write(wake.writeEnd, &byte, 1)
    }

    // MARK: - The thread

    private func run() {
        var streams: [Int32: Stream] = [:]
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let (new, last) = lock.withLock {
                defer { arriving.removeAll() }
                return (arriving, finishing)
            }
            for stream in new { streams[stream.fd] = stream }
            if last {
                for stream in streams.values { _ = pump(stream, &buffer, passes: 64) }
                for stream in streams.values { end(stream) }
                done.signal()
                return
            }
            var fds = [pollfd(fd: wake.readEnd, events: Int16(POLLIN), revents: 0)]
            let order = Array(streams.keys)
            fds += order.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            _ = poll(&fds, nfds_t(fds.count), 1000)
            if fds[0].revents != 0 {
                var sink = [UInt8](repeating: 0, count: 64)
                while sink.withUnsafeMutableBytes({ read(wake.readEnd, $0.baseAddress, $0.count) }) > 0 {}
            }
            for (offset, fd) in order.enumerated() where fds[1 + offset].revents != 0 {
                guard let stream = streams[fd] else { continue }
                // A few reads per pass and pipe, so that one pipe cannot keep the others waiting.
                if !pump(stream, &buffer, passes: 4) {
                    end(stream)
                    streams[fd] = nil
                }
            }
            let now = clock.now
            for stream in streams.values {
                if let line = stream.budget.report(dyno: stream.label, now: now) {
                    stream.log.write(.runner(stream.label, line))
                }
            }
        }
    }

    /// Reads up to `passes` buffers from the stream and logs their lines within its budget; false at the pipe's end.
    private func pump(_ stream: Stream, _ buffer: inout [UInt8], passes: Int) -> Bool {
        for _ in 0..<passes {
            let n = buffer.withUnsafeMutableBytes { read(stream.fd, $0.baseAddress, $0.count) }
            if n > 0 {
                let now = clock.now
                let (lines, _) = buffer.withUnsafeBytes { raw in
                    stream.lines.append(UnsafeRawBufferPointer(rebasing: raw[0..<n])) {
                        stream.budget.admit(now: now)
                    }
                }
                for line in lines { stream.log.write(.app(stream.label, line)) }
            } else if n < 0 && errno == EINTR {
                continue
            } else if n < 0 && errno == EAGAIN {
                return true
            } else {
                return false
            }
        }
        return true
    }

    /// Logs an unfinished last line and the lines dropped since the last report, and closes the pipe.
    private func end(_ stream: Stream) {
        if let last = stream.lines.finish(), stream.budget.admit(now: clock.now) {
            stream.log.write(.app(stream.label, last))
        }
        if let line = stream.budget.report(dyno: stream.label, now: clock.now, final: true) {
            stream.log.write(.runner(stream.label, line))
        }
        close(stream.fd)
    }
}
