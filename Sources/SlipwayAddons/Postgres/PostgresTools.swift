import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// Debian's PostgreSQL 15 programs (`initdb`, `pg_ctl`, `psql`, `pg_dump`, `pg_restore`), run without a shell as the
/// cluster's user: the door's own, or Debian's `postgres` when the door is root (PostgreSQL refuses to run as root).
struct PostgresTools: Sendable {
    /// Where the programs are: `$SLIPWAY_POSTGRES_BIN`, else Debian's folder for version 15.
    let bin: String
    /// The user the programs run as; nil: this process's.
    let user: Sandbox.User?

    init(environment: [String: String] = ProcessInfo.processInfo.environment) throws(AddonError) {
        bin = environment["SLIPWAY_POSTGRES_BIN"] ?? "/usr/lib/postgresql/15/bin"
        guard access("\(bin)/initdb", X_OK) == 0, access("\(bin)/pg_ctl", X_OK) == 0 else {
            throw AddonError(
                .serverDown,
                "PostgreSQL is not installed on the server: the operator installs Debian's postgresql-15 "
                    + "(scripts/setup does)")
        }
        if geteuid() == 0 {
            do throws(SandboxError) { user = try Sandbox.User.named("postgres") } catch {
                throw AddonError(
                    .serverDown, "the server has no postgres user: the operator installs Debian's postgresql-15")
            }
        } else {
            user = nil
        }
    }

    /// The database user that administers the cluster over its socket (peer authentication): the OS user's name.
    var adminName: String {
        if let user { return user.name }
        return getpwuid(geteuid()).map { String(cString: $0.pointee.pw_name) } ?? "postgres"
    }

    /// Owner of the cluster's folder.
    var owner: FileSystem.Owner? { user.map { FileSystem.Owner(uid: $0.uid, gid: $0.gid) } }

    /// Runs `tool` with `arguments` to its end, `input` on its standard input; returns its status and its output
    /// (stdout and stderr together, at most 64 KiB).
    func run(
        _ tool: String, _ arguments: [String], input: String? = nil, directory: String? = nil,
        timeout: Duration = .seconds(120)
    ) throws(AddonError) -> (status: ExitStatus, output: String) {
        let path = tool.hasPrefix("/") ? tool : "\(bin)/\(tool)"
        let command = user.map { $0.command(path, arguments) } ?? [path] + arguments
        var child = ChildProcess(
            executable: command[0], arguments: Array(command.dropFirst()), environment: environment,
            // Its programs fail where they cannot read the working folder (the door's may be root's): "/" always serves.
            directory: directory ?? "/", stdout: .capture(limit: 64 * 1024))
        child.input = input.map { Array($0.utf8) }
        child.deadline = .now + timeout
        do {
            let result = try child.run()
            return (result.status, String(decoding: result.stdout, as: UTF8.self))
        } catch {
            throw AddonError(.serverDown, "the database server's tools could not run (\(tool): \(error))")
        }
    }

    /// The environment of every program: no password file, no `~/.psqlrc`, the C.UTF-8 locale.
    var environment: [String: String] {
        ["PATH": "\(bin):/usr/bin:/bin", "LC_ALL": "C.UTF-8", "PGTZ": "UTC", "HOME": "/nonexistent"]
    }
}
