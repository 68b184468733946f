import Foundation

/// A running process whose combined output a test reads while it runs, to check that lines arrive as they are printed.
public final class StreamingProcess: @unchecked Sendable {
    private let process = Process()
    private let lock = NSLock()
    private var output = Data()
    private let done = DispatchSemaphore(value: 0)

    /// Starts `argv` with stdout and stderr merged into one pipe.
    public init(_ argv: [String], environment: [String: String]? = nil, directory: String? = nil) throws {
        process.executableURL = URL(fileURLWithPath: argv[0])
        process.arguments = Array(argv.dropFirst())
        if let environment { process.environment = environment }
        if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        process.standardInput = FileHandle.nullDevice
        try process.run()
        let handle = pipe.fileHandleForReading
        Thread.detachNewThread { [self] in
            while true {
                let chunk = handle.availableData
                if chunk.isEmpty { break }
                lock.withLock { output.append(chunk) }
            }
            done.signal()
        }
    }

    /// The process id.
    public var pid: Int32 { process.processIdentifier }

    /// Everything printed so far.
    public var text: String { lock.withLock { String(decoding: output, as: UTF8.self) } }

    /// Waits until the output contains `needle`; false if it did not within `timeout` seconds.
    public func waitFor(_ needle: String, timeout: TimeInterval = 60) -> Bool {
        let deadline = Date().addingTimeInterval(timeout)
        while Date() < deadline {
            if text.contains(needle) { return true }
            usleep(20_000)
        }
        return text.contains(needle)
    }

    /// Waits for the process to exit and returns its status (128 + signal when killed); kills it after `timeout`.
    @discardableResult
    public func wait(timeout: TimeInterval = 120) -> Int32 {
        let deadline = Date().addingTimeInterval(timeout)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
        }
        process.waitUntilExit()
        _ = done.wait(timeout: .now() + 10)
        return process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    }

    /// Sends `signal` to the process.
    public func send(_ signal: Int32) { kill(process.processIdentifier, signal) }

    deinit {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }
}

/// Whether a process with this id is still alive (and not a zombie).
public func processIsAlive(_ pid: Int32) -> Bool {
    guard kill(pid, 0) == 0 else { return false }
    let status = (try? String(contentsOfFile: "/proc/\(pid)/stat", encoding: .utf8)) ?? ""
    // Field 3 is the state; Z is a zombie.
    if let close = status.lastIndex(of: ")") {
        let state = status[status.index(close, offsetBy: 2)]
        return state != "Z"
    }
    return true
}
