import Foundation
import SlipwayGit
import SlipwaySpool
import SlipwaySystem

/// `apps`, `apps:info`, `apps:set`, `buildpacks`, `buildpacks:set`, `buildpacks:clear`.
extension ManagementCommands {
    static let appCommands = [
        ManagementCommand(
            "apps", "", "List the apps you may push to, with their current release.", arity: 0...0,
            servedLocally: false
        ) { run in
            let registry = AppRegistry(root: run.root)
            let apps = try registry.list().filter { app in
                guard case .user(let user) = run.actor else { return true }
                return registry.canAccess(user: user, app: app)
            }
            guard !apps.isEmpty else {
                run.out("No apps yet: the first git push to a new name creates one.")
                return
            }
            if case .user(let user) = run.actor { run.out("=== Apps \(user) can push to") }
            var rows = [["NAME", "RELEASE", "OWNER", "COLLABORATORS"]]
            for app in apps {
                let current = try? ReleaseLedger(path: run.root.app(app.name).ledger).latest()
                let release = current.map { "v\($0.version)" } ?? "none"
                rows.append([app.name, release, app.owner, app.collaborators.joined(separator: ", ")])
            }
            for line in alignedRows(rows) { run.out(line) }
        },
        ManagementCommand("apps:info", "<app>", "Show the app's owner, release and settings.", arity: 1...1) { run in
            let (paths, app) = try run.app()
            let release = try ReleaseLedger(path: paths.ledger).latest().map {
                "v\($0.version) (\($0.description), by \($0.user ?? "-"), \($0.createdAt))"
            }
            run.out("=== \(app.name)")
            let rows: [[String]] = [
                ["Owner:", app.owner],
                ["Collaborators:", app.collaborators.isEmpty ? "(none)" : app.collaborators.joined(separator: ", ")],
                ["Release:", release ?? "none yet"],
                ["Deploy branch:", app.deployBranch ?? "main or master (default)"],
                ["Build dir:", app.buildDir ?? "(the whole repository)"],
                [
                    "Buildpacks:",
                    app.buildpacks.isEmpty ? "(detected at each build)" : app.buildpacks.joined(separator: ", "),
                ],
                ["Created:", app.createdAt],
            ]
            for line in alignedRows(rows) { run.out(line) }
        },
        ManagementCommand(
            "apps:set", "<app> <setting>=<value>…",
            "Set deploy-branch=<branch>, build-dir=<folder>, healthcheck=<path>, https-redirect=on|off, or for webhook deploys "
                + "source=<git URL>#<branch>, status-token=<forge token>, forge-api=<URL> (empty: back to the default).",
            arity: 2...Int.max
        ) { run in
            let (paths, _) = try run.app()
            var changes: [(setting: String, value: String?)] = []
            var sourceChanges: [(setting: String, value: String?)] = []
            var healthcheck: String?? = .none
            var redirect: Bool? = nil
            for word in run.arguments.dropFirst() {
                let parts = word.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
                let value = parts.count == 2 && !parts[1].isEmpty ? parts[1] : nil
                switch parts[0] {
                case "source" where parts.count == 2, "status-token" where parts.count == 2,
                    "forge-api" where parts.count == 2:
                    sourceChanges.append((parts[0], value))
                case "deploy-branch" where parts.count == 2:
                    if let value { try BranchName.validate(value) }
                    changes.append(("deploy-branch", value))
                case "build-dir" where parts.count == 2:
                    changes.append(("build-dir", try value.flatMap(BuildDirectory.normalize)))
                case "healthcheck" where parts.count == 2:
                    if let value, !DynoSettings.isHealthcheckPath(value) {
                        throw DoorError(
                            .invalidValue,
                            "slipway: '\(TerminalText.printable(value))' is not a health check path: give one starting "
                                + "with / (healthcheck=/up), without spaces")
                    }
                    healthcheck = .some(value)
                case "https-redirect" where parts.count == 2 && [nil, "on", "off"].contains(value):
                    redirect = value != "off"
                default:
                    throw DoorError(
                        .invalidValue,
                        "slipway: '\(TerminalText.printable(word))' is not a setting: apps:set takes "
                            + "deploy-branch=<branch>, build-dir=<folder>, healthcheck=<path>, https-redirect=on|off, "
                            + "source=<git URL>#<branch>, "
                            + "status-token=<token> and forge-api=<URL>")
                }
            }
            try ManagementCommands.applySourceChanges(sourceChanges, app: paths, run: run)
            if case .some(let path) = healthcheck {
                try ManagementCommands.setHealthcheck(path, app: paths.name, run: run)
            }
            if let redirect {
                try updateDynoSettings(run, paths.name) { $0.httpsRedirect = redirect ? nil : false }
                run.say(
                    redirect
                        ? "Set https-redirect of \(paths.name) to on: plain HTTP to a name with a certificate gets a 308"
                        : "Set https-redirect of \(paths.name) to off: plain HTTP reaches the app")
            }
            guard !changes.isEmpty else { return }
            try AppRegistry(root: run.root).update(paths.name) { settings in
                for (setting, value) in changes {
                    if setting == "deploy-branch" { settings.deployBranch = value } else { settings.buildDir = value }
                }
            }
            for (setting, value) in changes {
                switch (setting, value) {
                case ("deploy-branch", let branch?):
                    // Clones check out what HEAD names: the deploy branch.
                    if FileManager.default.fileExists(atPath: paths.repository) {
                        try? Repository.open(at: paths.repository).setHead("refs/heads/\(branch)")
                    }
                    run.say("Set deploy-branch of \(paths.name) to \(branch): pushes to \(branch) deploy it.")
                case ("deploy-branch", nil):
                    run.say("Reset deploy-branch of \(paths.name): pushes to main (or master) deploy it.")
                case (_, let folder?):
                    run.say("Set build-dir of \(paths.name) to \(folder): the next push builds only that folder.")
                default:
                    run.say("Reset build-dir of \(paths.name): the next push builds the whole repository.")
                }
            }
        },
        ManagementCommand("buildpacks", "<app>", "List the buildpacks set for the app.", arity: 1...1) { run in
            let (_, app) = try run.app()
            guard !app.buildpacks.isEmpty else {
                run.out("\(app.name) has no buildpacks set: each build reads .buildpacks or detects one.")
                return
            }
            run.out("=== \(app.name) buildpacks")
            for (index, url) in app.buildpacks.enumerated() { run.out("\(index + 1). \(url)") }
        },
        ManagementCommand(
            "buildpacks:set", "<app> <url>…",
            "Build with these buildpacks, in order (git URLs with #ref, or built-in names).",
            arity: 2...Int.max
        ) { run in
            let (paths, _) = try run.app()
            let urls = Array(run.arguments.dropFirst())
            for url in urls {
                let unsafe = url.unicodeScalars.contains {
                    $0.properties.isWhitespace || $0.properties.generalCategory == .control
                }
                guard url.utf8.count <= 2048, !unsafe else {
                    throw DoorError(
                        .invalidValue,
                        "slipway: '\(TerminalText.printable(url))' is not a buildpack: give a git URL, a built-in name "
                            + "(python, nodejs, procfile) or a folder, without spaces")
                }
            }
            try AppRegistry(root: run.root).update(paths.name) { $0.buildpacks = urls }
            run.say("Buildpacks of \(paths.name) set; the next push uses:")
            for (index, url) in urls.enumerated() { run.say("  \(index + 1). \(url)") }
        },
        ManagementCommand(
            "buildpacks:clear", "<app>", "Forget the buildpacks set: builds read .buildpacks or detect again.",
            arity: 1...1
        ) { run in
            let (paths, _) = try run.app()
            try AppRegistry(root: run.root).update(paths.name) { $0.buildpacks = [] }
            run.say("Buildpacks of \(paths.name) cleared; the next push reads .buildpacks or detects one.")
        },
    ]

    /// `apps:set <app> healthcheck=<path>` (nil: none), stored in the app's `dynos.json` for the runner.
    static func setHealthcheck(_ path: String?, app: String, run: Invocation) throws {
        try updateDynoSettings(run, app) { $0.healthcheck = path }
        if let path {
            run.say(
                "Set healthcheck of \(app) to \(path): a new release goes live once each web dyno answers 2xx or 3xx "
                    + "there")
        } else {
            run.say("Reset healthcheck of \(app): a web dyno goes live once it accepts connections")
        }
    }
}
