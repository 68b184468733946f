public import Foundation
import SlipwayRunnerKit
public import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// The unprivileged user each app's dynos run as (when the runner is root, and on the Swarm engine): one per app,
/// never root, the runner's user, `nobody` or a user of the password database. Uids come from ``range`` (by default
/// 600000 to 699999, far above the ids `useradd` hands out, or the first such block of 100000 that no user holds in
/// `/etc/subuid` or `/etc/subgid`, where rootless containers and user namespaces take theirs: ``SubordinateIDs``), in
/// order of the apps' first start, skipping any id the password or group database already uses; the group id is the
/// same number. The choice is remembered in `<root>/runner/uids.json` (mode 0600), so an app keeps its user across
/// restarts and its files stay its own. No password entry is made: the sandbox switches to the numbers (`setpriv`).
public struct AppUsers {
    /// The ids handed out when no subordinate range is in the way.
    public static let defaultRange: ClosedRange<uid_t> = 600_000...699_999
    /// How many ids a range holds.
    public static let rangeSize: uid_t = 100_000

    /// The file's contents.
    private struct Table: Codable {
        var version = 1
        var apps: [String: uid_t] = [:]
    }

    /// `<root>/runner/uids.json`.
    public let path: String
    /// The ids new apps get here.
    public let range: ClosedRange<uid_t>
    private var table: Table

    /// The users given so far, from `path` (none if it does not exist), and the range of new ones: the default, or
    /// the first block past what `/etc/subuid` and `/etc/subgid` (`subordinateFiles`) give to users. Throws one line
    /// when an app's remembered id is now inside a user's subordinate range (that user's containers could then own
    /// the app's files).
    public init(path: String, subordinateFiles: [String] = SubordinateIDs.files) throws {
        self.path = path
        var held: [SubordinateIDs] = []
        for file in subordinateFiles {
            let text = (try? Files.read(file)).flatMap { $0.map { String(decoding: $0, as: UTF8.self) } } ?? ""
            held += SubordinateIDs.parse(text, file: file)
        }
        guard let range = Self.range(avoiding: held) else {
            throw RunnerError(
                .sandbox,
                "slugrunner: /etc/subuid and /etc/subgid leave no block of \(Self.rangeSize) ids free for the apps' "
                    + "users; shrink the ranges given there")
        }
        self.range = range
        if let data = try Files.read(path) {
            do {
                table = try JSONDecoder().decode(Table.self, from: data)
            } catch {
                throw RunnerError(
                    .sandbox,
                    "slugrunner: \(path) is not a table of app users; restore it from a backup (apps keep their "
                        + "users through it)")
            }
        } else {
            table = Table()
        }
        for (app, uid) in table.apps.sorted(by: { $0.key < $1.key }) {
            guard let holder = held.first(where: { $0.ids.contains(uid) }) else { continue }
            throw RunnerError(
                .sandbox,
                "slugrunner: the app \(app) runs as uid \(uid), which \(holder.file) gives to \(holder.owner) "
                    + "(\(holder.ids.lowerBound)-\(holder.ids.upperBound)): the apps keep their uids, so move "
                    + "\(holder.owner)'s range in \(holder.file) past theirs (above \(table.apps.values.max() ?? uid))")
        }
    }

    /// The first block of ``rangeSize`` ids from ``defaultRange``'s start, on a multiple of ``rangeSize``, that no
    /// subordinate range in `held` touches; nil past 2^31 (ids the kernel and tools all take as positive).
    public static func range(avoiding held: [SubordinateIDs]) -> ClosedRange<uid_t>? {
        var start = defaultRange.lowerBound
        while start <= uid_t(Int32.max) - rangeSize {
            let candidate = start...(start + rangeSize - 1)
            let overlapping = held.filter { $0.ids.overlaps(candidate) }
            guard let end = overlapping.map(\.ids.upperBound).max() else { return candidate }
            guard end < uid_t(Int32.max) - rangeSize else { return nil }
            start = (end / rangeSize + 1) * rangeSize
        }
        return nil
    }

    /// The user of `app`, given (and remembered durably) on its first call.
    public mutating func user(for app: String) throws -> Sandbox.User {
        if let uid = table.apps[app] { return Sandbox.User(uid: uid, gid: gid_t(uid), name: "app \(app)") }
        let taken = Set(table.apps.values)
        let start = taken.filter(range.contains).max().map { $0 + 1 } ?? range.lowerBound
        guard start <= range.upperBound,
            let uid = (start...range.upperBound).first(where: {
                !taken.contains($0) && getpwuid($0) == nil && getgrgid(gid_t($0)) == nil && $0 != getuid()
            })
        else {
            throw RunnerError(
                .sandbox,
                "slugrunner: no free uid is left in \(range) for \(app); remove apps that are gone from \(path)")
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

/// One line of `/etc/subuid` or `/etc/subgid` (`owner:first:count`, shadow-utils' format): ids the system gives to a
/// user for its user namespaces (rootless Docker or Podman), which no app may share.
public struct SubordinateIDs: Equatable {
    public var owner: String
    public var ids: ClosedRange<uid_t>
    /// The file it came from, for the message.
    public var file: String

    public static let files = ["/etc/subuid", "/etc/subgid"]

    /// The ranges of `text`; blank lines, comments and malformed lines (as shadow-utils skips them) are left out.
    public static func parse(_ text: String, file: String) -> [SubordinateIDs] {
        text.split(whereSeparator: \.isNewline).compactMap { line in
            let fields = line.split(separator: ":", omittingEmptySubsequences: false)
            guard fields.count == 3, !fields[0].hasPrefix("#"), let first = uid_t(fields[1]),
                let count = uid_t(fields[2]), count > 0
            else { return nil }
            let (last, overflow) = first.addingReportingOverflow(count - 1)
            return SubordinateIDs(owner: String(fields[0]), ids: first...(overflow ? uid_t.max : last), file: file)
        }
    }
}
