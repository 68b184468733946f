import Foundation
import SlipwaySystem

/// `pg:psql <app>` and `redis:cli <app>`: the server's `psql` or `redis-cli`, connected to the app's add-on as its
/// own role or user, on the session's stdin, stdout and stderr (the door allows no terminal: SQL and commands come on
/// stdin). The password goes in the client's environment (`PGPASSWORD`, `REDISCLI_AUTH`), never on a command line.
extension AddonCommands {
    public func client(app: String, kind: AddonKind) throws {
        let record = try addon(of: app, kind: kind)
        guard let credentials = record.credentials else {
            throw AddonError(.failed, "\(record.name) has no credentials")
        }
        let provider = try AddonProviders.provider(named: record.provider, root: root)
        let command: [String]
        var environment = ["PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8", "HOME": "/nonexistent"]
        switch kind {
        case .postgresql:
            let url = provider.url(credentials)
            let mode = url.split(separator: "sslmode=").last.map(String.init) ?? "require"
            command = [
                "/usr/lib/postgresql/15/bin/psql", "-X", "-h", credentials.host, "-p", "\(credentials.port)", "-U",
                credentials.user, "-d", credentials.database,
            ]
            environment["PGPASSWORD"] = credentials.password
            environment["PGSSLMODE"] = mode
        case .redis:
            command = [
                "/usr/bin/redis-cli", "-h", credentials.host, "-p", "\(credentials.port)", "--user", credentials.user,
            ]
            environment["REDISCLI_AUTH"] = credentials.password
        }
        let descriptors = door.sessionDescriptors
        guard descriptors.count >= 3 else { throw AddonError(.failed, "this session has no input to give the client") }
        let pid = try ChildProcess.spawn(
            executable: command[0], arguments: Array(command.dropFirst()), environment: environment, directory: "/",
            stdin: descriptors[0], stdout: descriptors[1], stderr: descriptors[2])
        guard case .ended(let status) = Reaping.reap(pid, block: true) else {
            throw AddonError(.failed, "the client could not be waited for")
        }
        guard status.succeeded else {
            throw AddonError(.failed, "\(command[0].split(separator: "/").last ?? "the client") ended with \(status)")
        }
    }
}
