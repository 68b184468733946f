import Foundation
import SlipwayDoorRecords
import SlipwaySpool
import SlipwaySystem

/// `releases`, `releases:info`, `rollback`.
extension ManagementCommands {
    static let releaseCommands = [
        ManagementCommand(
            "releases", "<app>", "List the app's releases, newest first: version, change, user, time.", arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            let entries = try ReleaseLedger(path: app.ledger).entries()
            guard let current = entries.last else {
                run.out("\(app.name) has no releases yet.")
                return
            }
            run.out("=== \(app.name) releases (current: v\(current.version))")
            let rows = entries.reversed().map { ["v\($0.version)", $0.description, $0.user ?? "-", $0.createdAt] }
            for line in alignedRows(rows) { run.out(line) }
        },
        ManagementCommand(
            "releases:info", "<app> [v<N>]", "Show one release (the current one by default), with its config vars.",
            arity: 1...2
        ) { run in
            let (app, _) = try run.app()
            let ledger = ReleaseLedger(path: app.ledger)
            let entry: LedgerEntry
            if run.arguments.count > 1 {
                let version = try releaseVersion(run.arguments[1])
                guard let found = try ledger.entry(version: version) else {
                    throw DoorError(
                        .notFound, "slipway: \(app.name) has no release v\(version): releases \(app.name) lists them")
                }
                entry = found
            } else {
                guard let latest = try ledger.latest() else {
                    throw DoorError(.notFound, "slipway: \(app.name) has no releases yet")
                }
                entry = latest
            }
            let processes = entry.processTypes.keys.sorted().map { "\($0): \(entry.processTypes[$0] ?? "")" }
            var size = stat()
            let slug =
                stat(entry.slugPath(app), &size) == 0
                ? "sha256:\(entry.slugSHA256.prefix(12)) (\(String(format: "%.1fM", Double(size.st_size) / 1_048_576)))"
                : "sha256:\(entry.slugSHA256.prefix(12)) (gone)"
            run.out("=== \(app.name) v\(entry.version)")
            let rows: [[String]] = [
                ["Change:", entry.description],
                ["By:", entry.user ?? "-"],
                ["When:", entry.createdAt],
                ["Commit:", entry.sourceVersion ?? "-"],
                ["Slug:", slug],
                ["Buildpacks:", entry.buildpacks.map { "\($0.name) (\($0.url))" }.joined(separator: ", ")],
                ["Processes:", processes.joined(separator: "; ")],
            ]
            for line in alignedRows(rows) { run.out(line) }
            run.out("=== v\(entry.version) config vars")
            for line in configListing(entry.configVars) { run.out(line) }
        },
        ManagementCommand(
            "rollback", "<app> [v<N>]",
            "Release an earlier version's slug and config vars again (default: the previous one).",
            arity: 1...2
        ) { run in
            let (app, _) = try run.app()
            let version = try run.arguments.count > 1 ? releaseVersion(run.arguments[1]) : nil
            let lock = try run.lock(app, for: "rollback")
            let (target, release) = try withExtendedLifetime(lock) {
                try Releaser(root: run.root, user: run.actor.name).rollback(app, to: version)
            }
            run.say("Rolling back \(app.name) to v\(target.version)... done, v\(release.version)")
            run.say("The slug and the config vars of v\(target.version) are live again; config shows them.")
        },
    ]

    /// `v3` or `3` as 3.
    static func releaseVersion(_ text: String) throws -> Int {
        let digits = text.hasPrefix("v") ? text.dropFirst() : Substring(text)
        guard digits.allSatisfy({ $0.isASCII && $0.isNumber }), let version = Int(digits), version >= 1 else {
            throw DoorError(
                .invalidValue, "slipway: '\(TerminalText.printable(text))' is not a release version: write it as v3")
        }
        return version
    }
}
