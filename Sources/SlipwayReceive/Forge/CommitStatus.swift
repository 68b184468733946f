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

    /// The default API base for the repository the operator set as the app's source (`apps:set source=…`):
    /// api.github.com for github.com, `/api/v3` on a GitHub Enterprise host, else the host's web origin (https, or
    /// http for an http:// source, the port kept only then). Never a URL from a delivery: a payload's `html_url` is
    /// not where the status token may go.
    public static func defaultAPI(forge: Forge, sourceURL: String?) -> String? {
        guard let sourceURL, let (scheme, host, port) = webOrigin(sourceURL) else { return nil }
        let origin = "\(scheme)://\(host)\(port.map { ":\($0)" } ?? "")"
        if forge == .github { return host == "github.com" ? "https://api.github.com" : "\(origin)/api/v3" }
        return origin
    }

    /// The web scheme, host and port of a git URL: `https://host[:port]/…` and `http://…` as they are; `ssh://`,
    /// `git://` and scp-like `git@host:path` as https on the same host, without their port.
    static func webOrigin(_ gitURL: String) -> (scheme: String, host: String, port: Int?)? {
        if let url = URL(string: gitURL), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty {
            switch scheme {
            case "https", "http": return (scheme, host, url.port)
            case "ssh", "git": return ("https", host, nil)
            default: return nil
            }
        }
        // scp-like: user@host:path
        guard let at = gitURL.firstIndex(of: "@"), let colon = gitURL[at...].firstIndex(of: ":") else { return nil }
        let host = String(gitURL[gitURL.index(after: at)..<colon])
        guard !host.isEmpty, host.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "." || $0 == "-" }) else {
            return nil
        }
        return ("https", host, nil)
    }
}
