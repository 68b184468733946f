import Foundation
public import NIOHTTP1

/// A commit status report, as each forge's API takes it.
public struct CommitStatus: Equatable, Sendable {
    /// Slipway's states; each forge names them its own way.
    public enum State: Sendable {
        case pending, success, failure
    }

    public var state: State
    /// One line: the build's id and result.
    public var description: String
    /// `slipway/<app>`: the status's name on the forge.
    public var context: String

    public init(state: State, description: String, context: String) {
        self.state = state
        self.description = description
        self.context = context
    }

    /// The API request: URL, headers and JSON body.
    ///
    /// GitHub: `POST {api}/repos/{owner}/{repo}/statuses/{sha}` (`Authorization: Bearer`); GitLab:
    /// `POST {api}/api/v4/projects/{id}/statuses/{sha}` (`PRIVATE-TOKEN`); Gitea:
    /// `POST {api}/api/v1/repos/{owner}/{repo}/statuses/{sha}` (`Authorization: token`).
    public func request(forge: Forge, api: String, repository: String, commit: String, token: String)
        -> (url: String, headers: HTTPHeaders, body: [String: String])
    {
        let base = api.hasSuffix("/") ? String(api.dropLast()) : api
        let description = String(self.description.prefix(140))
        switch forge {
        case .github:
            return (
                "\(base)/repos/\(repository)/statuses/\(commit)",
                HTTPHeaders([
                    ("Authorization", "Bearer \(token)"), ("Accept", "application/vnd.github+json"),
                    ("X-GitHub-Api-Version", "2022-11-28"),
                ]),
                ["state": name(forge), "description": description, "context": context]
            )
        case .gitlab:
            return (
                "\(base)/api/v4/projects/\(repository)/statuses/\(commit)", HTTPHeaders([("PRIVATE-TOKEN", token)]),
                ["state": name(forge), "description": description, "name": context]
            )
        case .gitea:
            return (
                "\(base)/api/v1/repos/\(repository)/statuses/\(commit)",
                HTTPHeaders([("Authorization", "token \(token)")]),
                ["state": name(forge), "description": description, "context": context]
            )
        }
    }

    /// The state as `forge` names it (GitLab says `failed`).
    func name(_ forge: Forge) -> String {
        switch (state, forge) {
        case (.pending, _): "pending"
        case (.success, _): "success"
        case (.failure, .gitlab): "failed"
        case (.failure, _): "failure"
        }
    }

    /// The default API base of a repository at `webURL`: api.github.com for github.com, else the web origin.
    public static func defaultAPI(forge: Forge, webURL: String?) -> String? {
        guard let webURL, let url = URL(string: webURL), let scheme = url.scheme, let host = url.host else {
            return nil
        }
        if forge == .github {
            return host == "github.com"
                ? "https://api.github.com" : "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")/api/v3"
        }
        return "\(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
    }
}
