public import Foundation

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
    let process = try TestProcess(
        argv, environment: environment, directory: directory, stdin: true, stdout: .capture,
        stderr: mergeOutput ? .mergeWithStdout : .capture)
    if let stdin { process.write(Data(stdin.utf8)) }
    process.closeStdin()
    guard let status = process.wait(timeout: timeout) else {
        process.signal(SIGKILL)
        process.wait(timeout: 30)
        throw ToolError.timedOut(argv, timeout)
    }
    let out = String(decoding: process.stdoutData, as: UTF8.self)
    let err = String(decoding: process.stderrData, as: UTF8.self)
    return ToolResult(status: status, stdout: out, stderr: err, merged: mergeOutput ? out : nil)
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

/// The absolute path of a system tool the tests need (`git`, `curl`…); a missing one is a set-up error that names
/// the fix.
public func tool(_ program: String) throws -> String {
    guard let path = which(program) else { throw MissingTool(program: program) }
    return path
}

/// A system tool the tests need is not installed.
public struct MissingTool: Error, CustomStringConvertible {
    public var program: String
    public var description: String {
        "\(program) is not installed: run ./scripts/setup (it installs what the tests need)"
    }
}

/// Runs `git` with a fixed identity and no user or system configuration, so tests do not depend on the machine.
@discardableResult
public func git(
    _ args: [String], in directory: String, environment extra: [String: String] = [:], mergeOutput: Bool = false
) throws -> ToolResult {
    var env = ProcessInfo.processInfo.environment
    env["GIT_CONFIG_NOSYSTEM"] = "1"
    env["GIT_CONFIG_GLOBAL"] = "/dev/null"
    env["GIT_AUTHOR_NAME"] = "Slipway Test"
    env["GIT_AUTHOR_EMAIL"] = "test@slipway.invalid"
    env["GIT_COMMITTER_NAME"] = "Slipway Test"
    env["GIT_COMMITTER_EMAIL"] = "test@slipway.invalid"
    // For Slipway's hooks in a plain git server's repository (pushes over file://, gitolite).
    env["SLIPWAY_BUILDPACK_FOLDERS"] = TestPaths.buildpackFolders
    for (key, value) in extra { env[key] = value }
    let result = try runTool(
        [which("git") ?? "/usr/bin/git"] + args, environment: env, directory: directory, mergeOutput: mergeOutput)
    return result
}
