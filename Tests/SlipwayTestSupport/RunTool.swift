import Foundation

/// What a finished tool run produced.
public struct ToolResult: Sendable {
    /// The exit status, or 128 + signal number when the tool was killed by a signal.
    public var status: Int32
    /// Everything the tool wrote to standard output.
    public var stdout: String
    /// Everything the tool wrote to standard error.
    public var stderr: String
    /// Standard output and standard error together, in the order they were written when `mergeOutput` was set;
    /// otherwise stdout followed by stderr.
    public var output: String { merged ?? (stdout + stderr) }
    var merged: String?
}

/// Errors that mean the test itself could not run the tool.
public enum ToolError: Error, CustomStringConvertible {
    case timedOut([String], TimeInterval)
    case launchFailed([String], String)

    public var description: String {
        switch self {
        case .timedOut(let argv, let seconds): "timed out after \(seconds)s: \(argv.joined(separator: " "))"
        case .launchFailed(let argv, let why): "could not launch \(argv.joined(separator: " ")): \(why)"
        }
    }
}

/// Runs `argv` to completion and returns its exit status and output.
///
/// A spawn failure or a timeout throws (the test fails); a non-zero exit is returned for the test to check.
/// On timeout the tool is killed; tools that start children of their own must put them in a process group and
/// stop them (the code under test does).
@discardableResult
public func runTool(
    _ argv: [String],
    environment: [String: String]? = nil,
    directory: String? = nil,
    stdin: String? = nil,
    mergeOutput: Bool = false,
    timeout: TimeInterval = 120
) throws -> ToolResult {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: argv[0])
    process.arguments = Array(argv.dropFirst())
    if let environment { process.environment = environment }
    if let directory { process.currentDirectoryURL = URL(fileURLWithPath: directory) }
    let outPipe = Pipe()
    let errPipe = mergeOutput ? outPipe : Pipe()
    process.standardOutput = outPipe
    process.standardError = errPipe
    let inPipe = Pipe()
    process.standardInput = inPipe
    let outBox = DataBox()
    let errBox = DataBox()
    let group = DispatchGroup()
    group.enter()
    DispatchQueue.global().async {
        outBox.set(outPipe.fileHandleForReading.readDataToEndOfFile())
        group.leave()
    }
    if !mergeOutput {
        group.enter()
        DispatchQueue.global().async {
            errBox.set(errPipe.fileHandleForReading.readDataToEndOfFile())
            group.leave()
        }
    }
    do {
        try process.run()
    } catch {
        throw ToolError.launchFailed(argv, "\(error)")
    }
    if let stdin { inPipe.fileHandleForWriting.write(Data(stdin.utf8)) }
    try? inPipe.fileHandleForWriting.close()
    let deadline = Date().addingTimeInterval(timeout)
    while process.isRunning {
        if Date() > deadline {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
            throw ToolError.timedOut(argv, timeout)
        }
        usleep(10_000)
    }
    process.waitUntilExit()
    _ = group.wait(timeout: .now() + 10)
    let status =
        process.terminationReason == .uncaughtSignal ? 128 + process.terminationStatus : process.terminationStatus
    let out = String(decoding: outBox.get(), as: UTF8.self)
    let err = String(decoding: errBox.get(), as: UTF8.self)
    return ToolResult(status: status, stdout: out, stderr: err, merged: mergeOutput ? out : nil)
}

/// A small lock-protected buffer, filled by a reader thread.
final class DataBox: @unchecked Sendable {
    private let lock = NSLock()
    private var data = Data()
    func set(_ value: Data) { lock.withLock { data = value } }
    func get() -> Data { lock.withLock { data } }
}

/// The absolute path of a program on `PATH`, for tests that run system tools such as `git` or `tar`.
public func which(_ program: String) -> String? {
    let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin"
    for dir in path.split(separator: ":") {
        let candidate = "\(dir)/\(program)"
        if access(candidate, X_OK) == 0 { return candidate }
    }
    return nil
}

/// Runs `git` with a fixed identity and no user or system configuration, so tests do not depend on the machine.
@discardableResult
public func git(_ args: [String], in directory: String, environment extra: [String: String] = [:]) throws -> ToolResult {
    var env = ProcessInfo.processInfo.environment
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_CONFIG_GLOBAL"] = "/dev/null"
    env["GIT_AUTHOR_NAME"] = "Slipway Test"
    env["GIT_AUTHOR_EMAIL"] = "test@slipway.invalid"
    env["GIT_COMMITTER_NAME"] = "Slipway Test"
    env["GIT_COMMITTER_EMAIL"] = "test@slipway.invalid"
    for (key, value) in extra { env[key] = value }
    let result = try runTool([which("git") ?? "/usr/bin/git"] + args, environment: env, directory: directory)
    return result
}
