public import Foundation

/// A running process whose combined output a test reads while it runs, to check that lines arrive as they are printed.
public final class StreamingProcess: @unchecked Sendable {
    private let process: TestProcess

    /// Starts `argv` with stdout and stderr merged into one pipe.
    public init(_ argv: [String], environment: [String: String]? = nil, directory: String? = nil) throws {
        process = try TestProcess(
            argv, environment: environment, directory: directory, stdout: .capture, stderr: .mergeWithStdout)
    }

    /// The process id.
    public var pid: Int32 { process.pid }

    /// Everything printed so far.
    public var text: String { process.stdoutText }

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
        if let status = process.wait(timeout: timeout) { return status }
        process.signal(SIGKILL)
        return process.wait(timeout: 30) ?? 137
    }

    /// Sends `signal` to the process.
    public func send(_ signal: Int32) { process.signal(signal) }
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

/// The processes (not zombies) whose command line contains `marker`, seen from this PID namespace: a process in a
/// sandbox's own PID namespace has another pid inside, so tests find it by a unique word in its command line.
public func processes(matching marker: String) -> [Int32] {
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    return entries.compactMap { entry -> Int32? in
        guard let pid = Int32(entry), pid != getpid(),
            let data = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
            String(decoding: data.map { $0 == 0 ? 0x20 : $0 }, as: UTF8.self).contains(marker),
            processIsAlive(pid)
        else { return nil }
        return pid
    }
}

/// A `sleep` duration no other process uses (`300.<random digits>`), to find the process afterwards with
/// ``processes(matching:)``.
public func uniqueSleep() -> String {
    "300.\(UInt32.random(in: 100_000...999_999))"
}

/// Polls `condition` every 0.1 s for up to `seconds`; whether it became true.
public func waitUntil(seconds: TimeInterval = 30, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if condition() { return true }
        usleep(100_000)
    }
    return condition()
}
