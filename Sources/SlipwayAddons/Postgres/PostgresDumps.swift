import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `pg_dump -Fc` and `pg_restore` of one add-on's database over the cluster's socket, as its administrator, the dump
/// streamed straight between the program and a file the door opened (the cluster's user never needs to reach the
/// backups' folder).
struct PostgresDumps {
    let cluster: PostgresCluster

    /// Dumps `database` (custom format) into the open file `fd`.
    func dump(_ database: String, into fd: Int32) throws(AddonError) {
        try run("pg_dump", ["-Fc", "-Z", "6", "-d", database], stdin: .null, stdout: .descriptor(fd), what: "backup")
    }

    /// Replaces `database`'s objects with those of the dump in `fd`, owned by `role` (the add-on's), in one
    /// transaction: a restore that fails changes nothing.
    func restore(_ database: String, role: String, from fd: Int32) throws(AddonError) {
        try run(
            "pg_restore",
            [
                "--clean", "--if-exists", "--no-owner", "--no-privileges", "--role=\(role)", "--single-transaction",
                "--exit-on-error", "-d", database,
            ],
            stdin: .descriptor(fd), stdout: .null, what: "restore")
    }

    private func run(
        _ tool: String, _ arguments: [String], stdin: Spawn.Stream, stdout: Spawn.Stream, what: String
    ) throws(AddonError) {
        guard let settings = cluster.settings() else {
            throw AddonError(.serverDown, "the database server has not been made yet")
        }
        let tools = cluster.tools
        let path = "\(tools.bin)/\(tool)"
        let full = arguments + ["-h", cluster.socket, "-p", "\(settings.port)", "-U", settings.admin]
        try Self.run(
            tools.user.map { $0.command(path, full) } ?? [path] + full, environment: tools.environment,
            stdin: stdin, stdout: stdout, what: what, scratch: cluster.layout.folder)
    }

    /// Runs `command` to its end with `stdin` and `stdout`, its errors in a file of `scratch`, read for the refusal.
    static func run(
        _ command: [String], environment: [String: String], stdin: Spawn.Stream, stdout: Spawn.Stream, what: String,
        scratch: String
    ) throws(AddonError) {
        let errors = "\(scratch)/.postgres-tool-\(getpid()).err"
        defer { unlink(errors) }
        var spawn = Spawn(
            executable: command[0], arguments: Array(command.dropFirst()), environment: environment, directory: "/")
        spawn.stdin = stdin
        spawn.stdout = stdout
        spawn.stderr = .appending(errors)
        let pid: pid_t
        do throws(Spawn.Failure) { pid = try spawn.start() } catch {
            throw AddonError(.serverDown, "the \(what) could not start (\(error))")
        }
        guard case .ended(let status) = Reaping.reap(pid, block: true) else {
            throw AddonError(.failed, "the \(what) could not be waited for")
        }
        guard status.succeeded else {
            let said = (try? FileSystem.read(errors)).flatMap { $0 }.map { String(decoding: $0, as: UTF8.self) }
            throw AddonError(.failed, "the \(what) failed: \(PostgresCluster.firstError(said ?? "no output"))")
        }
    }
}
