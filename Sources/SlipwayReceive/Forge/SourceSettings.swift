import Foundation
public import SlipwayDoorRecords
import SlipwaySystem

/// Where an app's code comes from when a forge's webhook deploys it: `<app>/source.json` (mode 0600, it holds
/// secrets). Set with `apps:set <app> source=<git URL>#<branch>`, `status-token=…`, `forge-api=…`.
public struct SourceSettings: Codable, Equatable, Sendable {
    /// The repository to fetch: HTTPS (with a token in it, if private) or SSH (with the app's deploy key).
    public var url: String?
    /// The branch whose pushes deploy.
    public var branch: String?
    /// The webhook secret the forge signs with (`apps:webhook` makes it).
    public var secret: String?
    /// A forge API token: with it, each build is reported as a commit status.
    public var statusToken: String?
    /// The forge's API base (default: api.github.com, or the repository's web origin).
    public var api: String?

    enum CodingKeys: String, CodingKey {
        case url, branch, secret, api
        case statusToken = "status_token"
    }

    public init() {}

    static func path(_ app: AppPaths) -> String { "\(app.directory)/source.json" }

    /// The app's settings (empty when none were set).
    public static func load(_ app: AppPaths) throws -> SourceSettings {
        guard let data = try StateFiles.contents(of: path(app)) else { return SourceSettings() }
        do {
            return try JSONDecoder().decode(SourceSettings.self, from: data)
        } catch {
            throw DoorError(.storage, "slipway: \(app.name)'s source.json is not valid: \(error); set the source again")
        }
    }

    /// Changes the app's settings under its lock file.
    @discardableResult
    public static func update(_ app: AppPaths, _ change: (inout SourceSettings) throws -> Void) throws -> SourceSettings
    {
        try StateFiles.withExclusiveLock("\(app.directory)/source.lock") {
            var settings = try load(app)
            try change(&settings)
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            try StateFiles.writeAtomically(try encoder.encode(settings), to: path(app), mode: 0o600)
            return settings
        }
    }

    /// Parses `<git URL>#<branch>` (the branch defaults to main). The URL is https://, http://, git://, ssh:// or
    /// scp-like `git@host:path`; never a local path or another transport (`ext::` runs commands).
    public static func parseSource(_ text: String) throws -> (url: String, branch: String) {
        let parts = text.split(separator: "#", maxSplits: 1, omittingEmptySubsequences: false).map(String.init)
        let url = parts[0]
        let branch = parts.count == 2 && !parts[1].isEmpty ? parts[1] : "main"
        try BranchName.validate(branch)
        let scpLike =
            url.range(of: #"^[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^/-][^\s]*$"#, options: .regularExpression) != nil
        let schemed = ["https://", "http://", "ssh://", "git://"].contains { url.hasPrefix($0) }
        guard scpLike || schemed, !url.contains(" "), !url.contains("\n"), url.utf8.count < 1024 else {
            throw DoorError(
                .invalidValue,
                "slipway: '\(TerminalText.printable(url))' is not a git URL: use https://host/owner/repo.git#branch or git@host:owner/repo.git#branch"
            )
        }
        return (url, branch)
    }
}
