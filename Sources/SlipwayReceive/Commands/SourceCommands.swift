import Foundation
import SlipwayDoorRecords
import SlipwaySystem

/// `apps:webhook`, `apps:deploy-key`, and the webhook settings of `apps:set`: deploys triggered by a push to the
/// repository the app lives in on GitHub, GitLab or Gitea.
extension ManagementCommands {
    static let sourceCommands = [
        ManagementCommand(
            "apps:webhook", "<app>", "Print the webhook URLs and secret to paste into GitHub, GitLab or Gitea.",
            arity: 1...1
        ) { run in
            let (paths, _) = try run.app()
            let settings = try SourceSettings.update(paths) { settings in
                if settings.secret == nil { settings.secret = TokenStore.randomHex(bytes: 24) }
            }
            let base = run.context.environment["SLIPWAY_HTTP_URL"] ?? "https://<this-host>"
            run.out("=== \(paths.name) webhook")
            for line in alignedRows(
                Forge.allCases.map { ["\($0.rawValue):", "\(base)/hooks/\($0.rawValue)?app=\(paths.name)"] }
                    + [
                        ["Secret:", settings.secret ?? ""], ["Content type:", "application/json"], ["Events:", "push"],
                    ])
            {
                run.out(line)
            }
            if settings.url == nil {
                run.say("Set where to fetch from: apps:set \(paths.name) source=<git URL>#<branch>")
            }
        },
        ManagementCommand(
            "apps:deploy-key", "<app>",
            "Print the app's SSH deploy key (made on first use): add it to the repository, read-only.",
            arity: 1...1
        ) { run in
            let (paths, _) = try run.app()
            let key = "\(paths.directory)/deploy_key"
            if !FileManager.default.fileExists(atPath: key) {
                let made = try ChildProcess(
                    executable: "/usr/bin/ssh-keygen",
                    arguments: ["-q", "-t", "ed25519", "-N", "", "-C", "slipway-\(paths.name)", "-f", key],
                    environment: ["PATH": "/usr/bin:/bin"], stdout: .capture(limit: 65536)
                ).run()
                guard made.status.succeeded else {
                    throw DoorError(
                        .notPossible,
                        lines:
                            "ssh-keygen could not make the deploy key: \(String(decoding: made.stdout, as: UTF8.self))")
                }
            }
            guard let pub = FileManager.default.contents(atPath: key + ".pub") else {
                throw DoorError(
                    .storage,
                    lines: "The deploy key of \(paths.name) has no public half: remove \(key) and run this again.")
            }
            run.out(String(decoding: pub, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines))
        },
    ]

    /// The webhook settings of `apps:set`.
    static func applySourceChanges(_ changes: [(setting: String, value: String?)], app: AppPaths, run: Invocation)
        throws
    {
        guard !changes.isEmpty else { return }
        var parsed: [(String, String?, String?)] = []
        for (setting, value) in changes {
            switch setting {
            case "source":
                let source = try value.map(SourceSettings.parseSource)
                parsed.append((setting, source?.url, source?.branch))
            case "forge-api":
                if let value, !(value.hasPrefix("https://") || value.hasPrefix("http://")) {
                    throw DoorError(
                        .invalidValue, "slipway: forge-api takes an https:// URL, such as https://gitlab.example.com")
                }
                parsed.append((setting, value, nil))
            default:
                parsed.append((setting, value, nil))
            }
        }
        try SourceSettings.update(app) { settings in
            for (setting, value, branch) in parsed {
                switch setting {
                case "source": (settings.url, settings.branch) = (value, branch)
                case "status-token": settings.statusToken = value
                default: settings.api = value
                }
            }
        }
        for (setting, value, branch) in parsed {
            switch (setting, value) {
            case ("source", let url?):
                run.say("Set source of \(app.name) to \(Self.withoutCredentials(url))#\(branch ?? "main").")
            case ("status-token", .some):
                run.say("Set status-token of \(app.name): builds are reported as commit statuses.")
            case (_, let value?): run.say("Set \(setting) of \(app.name) to \(value).")
            default: run.say("Reset \(setting) of \(app.name).")
            }
        }
    }

    /// `url` with any `user:password@` replaced by `***@`, for messages.
    static func withoutCredentials(_ url: String) -> String {
        guard let scheme = url.range(of: "://"), let at = url[scheme.upperBound...].firstIndex(of: "@") else {
            return url
        }
        return String(url[..<scheme.upperBound]) + "***" + String(url[at...])
    }
}
