import Foundation

#if canImport(Glibc)
    import Glibc
#endif

/// The system's own tools the sandbox drives (`ip`, `nft`, `mkfs.ext4`, `mount`): found where Debian installs them,
/// run to their end, and a failure said in one line with the tool's first words and the fix.
public enum SystemTool {
    /// The first of `paths` that can be run, else the first.
    public static func firstExecutable(_ paths: [String]) -> String {
        paths.first { (path: String) in access(path, X_OK) == 0 } ?? paths[0]
    }

    /// Runs `executable` with `arguments` to its end, `input` on its standard input. A failure says `what` failed
    /// and the tool's first line, with `hint`; a missing tool names Debian's `package`.
    public static func run(
        _ executable: String, _ arguments: [String], input: String? = nil, package: String, what: String,
        hint: String
    ) throws(SandboxError) {
        var child = ChildProcess(
            executable: executable, arguments: arguments, environment: ["PATH": "/usr/sbin:/usr/bin:/sbin:/bin"],
            stdout: .capture(limit: 16 * 1024))
        child.input = input.map { Array($0.utf8) }
        let result: ChildProcess.Result
        do { result = try child.run() } catch {
            throw SandboxError("Cannot run \(executable): \(error).", hint: "Install Debian's \(package) package.")
        }
        guard result.status.succeeded else {
            let said = String(decoding: result.stdout, as: UTF8.self).split(whereSeparator: \.isNewline).first
            throw SandboxError("\(what) failed: \(said.map(String.init) ?? "\(result.status)").", hint: hint)
        }
    }
}
