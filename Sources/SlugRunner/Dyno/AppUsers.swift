import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The unprivileged user each app's dynos run as when the runner is root: one per app, never root, the runner's
/// user, `nobody` or a user of the password database. Uids come from ``range`` (600000 and up, far above the ids
/// `useradd` hands out), in order of the apps' first start, skipping any id the password or group database already
/// uses; the group id is the same number. The choice is remembered in `<root>/runner/uids.json` (mode 0600), so an
/// app keeps its user across restarts and its files stay its own. No password entry is made: the sandbox switches
/// to the numbers (`setpriv`).
struct AppUsers {
    /// The ids handed out.
    static let range: ClosedRange<uid_t> = 600_000...699_999

    /// The file's contents.
    private struct Table: Codable {
        var version = 1
        var apps: [String: uid_t] = [:]
    }

    /// `<root>/runner/uids.json`.
    let path: String
    private var table: Table

    /// The users given so far, from `path` (none if it does not exist).
    init(path: String) throws {
        self.path = path
        guard let data = try Files.read(path) else {
            table = Table()
            return
        }
        do {
            table = try JSONDecoder().decode(Table.self, from: data)
        } catch {
            throw RunnerError(
                .sandbox,
                "slugrunner: \(path) is not a table of app users; restore it from a backup (apps keep their "
                    + "users through it)")
        }
    }

    /// The user of `app`, given (and remembered durably) on its first call.
    mutating func user(for app: String) throws -> Sandbox.User {
        if let uid = table.apps[app] { return Sandbox.User(uid: uid, gid: gid_t(uid), name: "app \(app)") }
        let taken = Set(table.apps.values)
        let start = (taken.max().map { $0 + 1 }) ?? Self.range.lowerBound
        guard
            let uid = (start...Self.range.upperBound).first(where: {
                !taken.contains($0) && getpwuid($0) == nil && getgrgid(gid_t($0)) == nil && $0 != getuid()
            })
        else {
            throw RunnerError(
                .sandbox,
                "slugrunner: no free uid is left in \(Self.range) for \(app); remove apps that are gone "
                    + "from \(path)")
        }
        var next = table
        next.apps[app] = uid
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        try Files.writeAtomically(try encoder.encode(next), to: path, mode: 0o600)
        table = next
        return Sandbox.User(uid: uid, gid: gid_t(uid), name: "app \(app)")
    }
}
