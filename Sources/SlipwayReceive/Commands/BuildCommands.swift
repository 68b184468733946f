import Foundation
import SlipwaySystem

#if canImport(Glibc)
    import Glibc
#endif

/// `builds`, `builds:output`, `builds:cancel`, `cache:purge`.
extension ManagementCommands {
    static let buildCommands = [
        ManagementCommand(
            "builds", "<app>", "List the app's last builds, newest first: id, result, commit, user, duration.",
            arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            let builds = BuildRecord.all(app, root: run.root)
            guard !builds.isEmpty else {
                run.out("\(app.name) has no builds yet.")
                return
            }
            run.out("=== \(app.name) builds")
            var rows = [["ID", "RESULT", "COMMIT", "USER", "DURATION", "RELEASE", "STARTED"]]
            for build in builds {
                rows.append([
                    build.id, build.result.rawValue, String(build.commit.prefix(7)), build.user,
                    build.duration.map(formatSeconds) ?? "-", build.release.map { "v\($0)" } ?? "-", build.startedAt,
                ])
            }
            for line in alignedRows(rows) { run.out(line) }
        },
        ManagementCommand(
            "builds:output", "<app> [<id>]", "Print the whole log of a build (the latest by default).", arity: 1...2
        ) { run in
            let (app, _) = try run.app()
            let log = try ServerSetup.buildLog(run.root, app: app.name, id: run.arguments.dropFirst().first)
            var text = String(decoding: log, as: UTF8.self)
            if text.hasSuffix("\n") { text.removeLast() }
            if !text.isEmpty { run.out(text) }
        },
        ManagementCommand(
            "builds:cancel", "<app>", "Stop the app's running build: its push is rejected and nothing is released.",
            arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            guard let build = try BuildRecord.cancel(app, root: run.root, by: run.actor.name) else {
                throw DoorError(.notPossible, "slipway: no build of \(app.name) is running")
            }
            let which = "build \(build.id) of \(app.name) (\(build.commit.prefix(7)) by \(build.user))"
            switch build.result {
            case .running:
                run.say("Asked \(which) to stop; it is still stopping (builds \(app.name) shows when it has).")
            case .succeeded: run.say("The \(which) finished before it could be cancelled.")
            case .failed, .cancelled: run.say("Cancelled \(which); its push is rejected and nothing is released.")
            }
        },
        ManagementCommand(
            "cache:purge", "<app>", "Delete the app's build cache; the next build starts from nothing.", arity: 1...1
        ) { run in
            let (app, _) = try run.app()
            let lock = try run.lock(app, for: "cache:purge")
            try withExtendedLifetime(lock) {
                let entries = (try? FileManager.default.contentsOfDirectory(atPath: app.cache)) ?? []
                guard !entries.isEmpty else {
                    run.say("\(app.name) has no build cache: nothing to purge.")
                    return
                }
                // Moved aside first, so a crash never leaves a half-deleted cache for the next build.
                try StateFiles.makeFolders(run.root.tmpDirectory)
                let aside = "\(run.root.tmpDirectory)/purged-cache-\(app.name)-\(UInt32.random(in: 0...UInt32.max))"
                guard rename(app.cache, aside) == 0 else {
                    throw DoorError.storage("move away", app.cache, errno: errno)
                }
                try? FileManager.default.removeItem(atPath: aside)
                run.say("Purged the build cache of \(app.name); the next build starts from nothing.")
            }
        },
    ]
}
